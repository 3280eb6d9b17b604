package klaxon_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

var timeType = reflect.TypeFor[time.Time]()

// fill sets every field of v, at every depth, to a value that is not
// zero: one element in each list, one key in each map.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	default:
		panic("fill: no value for " + v.Type().String())
	}
}

// changes returns, for every field of a filled value of type t at every
// depth, a name and a change to it: another value of a leaf, one more
// element in a list, one more key in a map, no pointee.
func changes(t reflect.Type, name string) map[string]func(reflect.Value) {
	out := map[string]func(reflect.Value){}
	sub := func(prefix string, m map[string]func(reflect.Value), at func(reflect.Value) reflect.Value) {
		for n, change := range m {
			out[prefix+n] = func(v reflect.Value) { change(at(v)) }
		}
	}
	switch t.Kind() {
	case reflect.String:
		out[name] = func(v reflect.Value) { v.SetString(v.String() + "x") }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		out[name] = func(v reflect.Value) { v.SetInt(v.Int() + 1) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		out[name] = func(v reflect.Value) { v.SetUint(v.Uint() + 1) }
	case reflect.Float32, reflect.Float64:
		out[name] = func(v reflect.Value) { v.SetFloat(v.Float() + 1) }
	case reflect.Bool:
		out[name] = func(v reflect.Value) { v.SetBool(!v.Bool()) }
	case reflect.Pointer:
		out[name+"=nil"] = func(v reflect.Value) { v.Set(reflect.Zero(t)) }
		sub("", changes(t.Elem(), name), func(v reflect.Value) reflect.Value { return v.Elem() })
	case reflect.Slice:
		out[name+"+1"] = func(v reflect.Value) {
			e := reflect.New(t.Elem()).Elem()
			fill(e)
			v.Set(reflect.Append(v, e))
		}
		sub("", changes(t.Elem(), name+"[0]"), func(v reflect.Value) reflect.Value { return v.Index(0) })
	case reflect.Map:
		out[name+"+key"] = func(v reflect.Value) {
			k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			fill(k)
			k.SetString(k.String() + "x")
			v.SetMapIndex(k, e)
		}
		out[name+"[key]"] = func(v reflect.Value) {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.ValueOf(v.MapIndex(k).String()+"x"))
			}
		}
	case reflect.Struct:
		if t == timeType {
			out[name] = func(v reflect.Value) { v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second))) }
			break
		}
		for i := range t.NumField() {
			f := t.Field(i)
			sub("", changes(f.Type, strings.TrimPrefix(name+"."+f.Name, ".")), func(v reflect.Value) reflect.Value { return v.Field(i) })
		}
	default:
		panic("changes: no change for " + t.String())
	}
	return out
}

// TestSameHeader: two copies of an incident have the same header whatever
// their Changed alerts and Recorded events, and a change to any field of
// the header, at any depth (a label, a step's target, a page sent), makes
// it another. A field added to Incident is changed here as soon as it is
// added: it fails until SameHeader compares it.
func TestSameHeader(t *testing.T) {
	full := func() *klaxon.Incident {
		inc := &klaxon.Incident{}
		fill(reflect.ValueOf(inc).Elem())
		return inc
	}
	other := full()
	other.Changed, other.Recorded = nil, []klaxon.Event{{Kind: klaxon.EventAlertJoined}}
	require.True(t, full().SameHeader(other), "Changed and Recorded are not the header's")
	require.True(t, full().SameHeader(full().Header()))

	all := changes(reflect.TypeFor[klaxon.Incident](), "")
	for name, change := range all {
		if strings.HasPrefix(name, "Changed") || strings.HasPrefix(name, "Recorded") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			inc := full()
			change(reflect.ValueOf(inc).Elem())
			require.False(t, full().SameHeader(inc))
			require.False(t, inc.SameHeader(full()))
		})
	}
	require.Greater(t, len(all), 60, "every field, at every depth")
}
