package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// scanPlans are the pgtype scan plans of one result shape, kept in the
// custom data of the connection that planned them.
//
// pgx plans the decoding of every column of every query afresh. For a
// credential row that took 18 of the 150 allocations of a token request
// and 2 to 3 % of its CPU time (pprof of BenchmarkTokenHandler/postgres in
// issuer/bench). A plan depends only on the column's type OID and format,
// the destination type and the connection's type map. So it stays valid
// for later rows of the same shape on the same connection, just as pgx
// reuses plans across the rows of one result.
type scanPlans struct {
	typeMap *pgtype.Map
	oids    []uint32
	formats []int16
	plans   []pgtype.ScanPlan
}

// matches reports whether p was planned on typeMap for fields.
func (p *scanPlans) matches(typeMap *pgtype.Map, fields []pgconn.FieldDescription) bool {
	if p.typeMap != typeMap || len(p.oids) != len(fields) {
		return false
	}
	for i, field := range fields {
		if p.oids[i] != field.DataTypeOID || p.formats[i] != field.Format {
			return false
		}
	}
	return true
}

// scanCached scans the current row of rows into dest with the plans kept
// under key on the row's connection, planning them first if the
// connection has none for this shape. The destination types must be the
// same for every call with the same key.
func scanCached(rows pgx.Rows, key string, dest []any) error {
	fields := rows.FieldDescriptions()
	if len(fields) != len(dest) {
		return fmt.Errorf("scan %s: the row has %d columns but %d destinations", key, len(fields), len(dest))
	}
	conn := rows.Conn()
	typeMap := conn.TypeMap()
	cache := conn.PgConn().CustomData()

	plans, _ := cache[key].(*scanPlans)
	if plans == nil || !plans.matches(typeMap, fields) {
		plans = planScans(typeMap, fields, dest)
		if cache != nil {
			cache[key] = plans
		}
	}

	values := rows.RawValues()
	for i, target := range dest {
		if err := plans.plans[i].Scan(values[i], target); err != nil {
			return pgx.ScanArgError{ColumnIndex: i, FieldName: fields[i].Name, Err: err}
		}
	}
	return nil
}

// planScans plans the decoding of each of fields into the matching dest.
func planScans(typeMap *pgtype.Map, fields []pgconn.FieldDescription, dest []any) *scanPlans {
	plans := &scanPlans{
		typeMap: typeMap,
		oids:    make([]uint32, len(fields)),
		formats: make([]int16, len(fields)),
		plans:   make([]pgtype.ScanPlan, len(fields)),
	}
	for i, field := range fields {
		plans.oids[i] = field.DataTypeOID
		plans.formats[i] = field.Format
		plans.plans[i] = typeMap.PlanScan(field.DataTypeOID, field.Format, dest[i])
	}
	return plans
}
