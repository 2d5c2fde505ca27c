// Package strictjson decodes a request body that must be exactly one JSON
// object of a known shape. encoding/json alone accepts more: keys that
// differ from a field's name only in case, keys no field has, and data after
// the object. A control API should refuse all of these with a message, not
// act on a guess.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// Decode fills v, a pointer to a struct, from data. It fails when data is
// not one JSON object, has a key that is not exactly one of the struct's
// JSON names, lacks one of the required keys, or has a value of the wrong
// type; the error says which.
func Decode(data []byte, v any, required ...string) error {
	names := fieldNames(reflect.TypeOf(v).Elem())
	var keys map[string]json.RawMessage
	if err := decodeOne(data, &keys); err != nil || keys == nil {
		return errors.New("want one JSON object")
	}
	for k := range keys {
		if !slices.Contains(names, k) {
			return fmt.Errorf("unknown key %q (the keys are %s)", k, strings.Join(names, ", "))
		}
	}
	for _, r := range required {
		if _, ok := keys[r]; !ok {
			return fmt.Errorf("%q is required", r)
		}
	}
	if err := decodeOne(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%q must be a JSON %s", te.Field, kindName(te.Type))
		}
		return errors.New("want one JSON object")
	}
	return nil
}

// decodeOne decodes exactly one JSON value, and nothing after it.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// fieldNames are the JSON names of a struct's exported fields.
func fieldNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	}
	return t.Kind().String()
}
