package jwks

import (
	"net/http"
	"testing"
	"time"
)

func TestRefreshDelay(t *testing.T) {
	const (
		minDelay = 10 * time.Second
		maxDelay = 10 * time.Minute
	)
	tests := []struct {
		name         string
		cacheControl []string
		age          string
		want         time.Duration
	}{
		{name: "no header", want: maxDelay},
		{name: "max-age within bounds", cacheControl: []string{"public, max-age=120"}, want: 2 * time.Minute},
		{name: "max-age below minimum", cacheControl: []string{"max-age=1"}, want: minDelay},
		{name: "max-age above maximum", cacheControl: []string{"max-age=86400"}, want: maxDelay},
		{name: "huge max-age", cacheControl: []string{"max-age=99999999999999999"}, want: maxDelay},
		{name: "quoted max-age", cacheControl: []string{`max-age="60"`}, want: time.Minute},
		{name: "upper-case directive", cacheControl: []string{"MAX-AGE=60"}, want: time.Minute},
		{name: "age subtracted", cacheControl: []string{"max-age=300"}, age: "100", want: 200 * time.Second},
		{name: "invalid age ignored", cacheControl: []string{"max-age=300"}, age: "soon", want: 5 * time.Minute},
		{name: "second header line", cacheControl: []string{"public", "max-age=60"}, want: time.Minute},
		{name: "no-cache", cacheControl: []string{"no-cache"}, want: minDelay},
		{name: "no-store wins over max-age", cacheControl: []string{"max-age=60, no-store"}, want: minDelay},
		{name: "malformed max-age ignored", cacheControl: []string{"max-age=soon"}, want: maxDelay},
		{name: "negative max-age ignored", cacheControl: []string{"max-age=-5"}, want: maxDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			for _, value := range tt.cacheControl {
				header.Add("Cache-Control", value)
			}
			if tt.age != "" {
				header.Set("Age", tt.age)
			}
			if got := refreshDelay(header, minDelay, maxDelay); got != tt.want {
				t.Errorf("refreshDelay(%v, Age %q) = %s, want %s", tt.cacheControl, tt.age, got, tt.want)
			}
		})
	}
}
