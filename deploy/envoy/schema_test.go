// Package envoyconfig_test checks deploy/envoy/envoy.yaml against Envoy's own
// schema (the go-control-plane protos and their validation rules) and against
// the rules gatepass depends on, and checks that docker-compose.yml starts the
// services the Envoy config points at. No Envoy binary is needed.
package envoyconfig_test

import (
	"errors"
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// Every typed_config type in envoy.yaml must be registered, or protojson
	// cannot resolve its "@type". Envoy rejects a config with an unknown type
	// in the same way.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// parseBootstrapYAML converts an Envoy YAML bootstrap to JSON and parses it.
func parseBootstrapYAML(yamlConfig []byte) (*bootstrapv3.Bootstrap, error) {
	jsonConfig, err := yaml.YAMLToJSON(yamlConfig)
	if err != nil {
		return nil, fmt.Errorf("convert Envoy config from YAML to JSON: %w", err)
	}
	return parseBootstrapJSON(jsonConfig)
}

// parseBootstrapJSON parses an Envoy bootstrap the way Envoy reads its config
// file: an unknown field, an invalid enum value or an unregistered "@type" is
// an error. It then applies Envoy's validation rules (see validateSchema).
func parseBootstrapJSON(jsonConfig []byte) (*bootstrapv3.Bootstrap, error) {
	bootstrap := &bootstrapv3.Bootstrap{}
	if err := protojson.Unmarshal(jsonConfig, bootstrap); err != nil {
		return nil, fmt.Errorf("parse Envoy config as envoy.config.bootstrap.v3.Bootstrap: %w", err)
	}
	if err := validateSchema(bootstrap); err != nil {
		return nil, err
	}
	return bootstrap, nil
}

// validateSchema applies the protoc-gen-validate rules that Envoy enforces on
// load, and rejects deprecated fields and enum values.
//
// Bootstrap.ValidateAll does not look inside google.protobuf.Any values, so
// every typed_config is unpacked and validated on its own.
func validateSchema(bootstrap *bootstrapv3.Bootstrap) error {
	var problems []error
	if err := bootstrap.ValidateAll(); err != nil {
		problems = append(problems, fmt.Errorf("Envoy config violates the Bootstrap validation rules: %w", err))
	}

	walker := schemaWalker{}
	walker.message(bootstrap.ProtoReflect(), "")
	problems = append(problems, walker.problems...)
	return errors.Join(problems...)
}

// schemaWalker visits every populated field of a message tree, unpacking
// google.protobuf.Any values, and records schema problems with the path of
// the field in the YAML file.
type schemaWalker struct {
	problems []error
}

func (w *schemaWalker) message(message protoreflect.Message, path string) {
	message.Range(func(field protoreflect.FieldDescriptor, value protoreflect.Value) bool {
		fieldPath := string(field.Name())
		if path != "" {
			fieldPath = path + "." + fieldPath
		}
		if options, ok := field.Options().(*descriptorpb.FieldOptions); ok && options.GetDeprecated() {
			w.problems = append(w.problems, fmt.Errorf("%s: field %s is deprecated in this Envoy API version; use its replacement from the Envoy API reference", fieldPath, field.FullName()))
		}

		switch {
		case field.IsList():
			list := value.List()
			for i := range list.Len() {
				w.value(field, list.Get(i), fmt.Sprintf("%s[%d]", fieldPath, i))
			}
		case field.IsMap():
			value.Map().Range(func(key protoreflect.MapKey, mapValue protoreflect.Value) bool {
				w.value(field.MapValue(), mapValue, fmt.Sprintf("%s[%s]", fieldPath, key.String()))
				return true
			})
		default:
			w.value(field, value, fieldPath)
		}
		return true
	})
}

func (w *schemaWalker) value(field protoreflect.FieldDescriptor, value protoreflect.Value, path string) {
	switch field.Kind() {
	case protoreflect.EnumKind:
		enumValue := field.Enum().Values().ByNumber(value.Enum())
		if enumValue == nil {
			return
		}
		if options, ok := enumValue.Options().(*descriptorpb.EnumValueOptions); ok && options.GetDeprecated() {
			w.problems = append(w.problems, fmt.Errorf("%s: enum value %s is deprecated in this Envoy API version; use its replacement from the Envoy API reference", path, enumValue.FullName()))
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.nested(value.Message(), path)
	}
}

func (w *schemaWalker) nested(message protoreflect.Message, path string) {
	packed, ok := message.Interface().(*anypb.Any)
	if !ok {
		w.message(message, path)
		return
	}

	unpacked, err := packed.UnmarshalNew()
	if err != nil {
		w.problems = append(w.problems, fmt.Errorf("%s: cannot decode %s: %w", path, packed.GetTypeUrl(), err))
		return
	}
	if validator, ok := unpacked.(interface{ ValidateAll() error }); ok {
		if err := validator.ValidateAll(); err != nil {
			w.problems = append(w.problems, fmt.Errorf("%s: %s violates its validation rules: %w", path, packed.GetTypeUrl(), err))
		}
	}
	w.message(unpacked.ProtoReflect(), path)
}
