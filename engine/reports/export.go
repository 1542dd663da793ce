package reports

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/forms"
	"stride/engine/objects"
	"stride/engine/records"
	"stride/engine/store"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// ContentType is the media type of an export format.
func ContentType(format string) string {
	if format == FormatXLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Table writes rows of typed columns to a spreadsheet, one row at a time.
// Headers are the columns' zh-CN labels; numbers are written as numbers;
// money (int64 分) as 元 — numeric cells with a 0.00 format in XLSX, decimal
// text in CSV; percent as a ratio (0.00% in XLSX).
type Table interface {
	Header(cols []Column) error
	Row(vals []any) error
	Close() error
}

// NewTable returns a table writing format to w. A CSV table starts with a
// UTF-8 BOM (so Excel and WPS read the Chinese headers) and flushes w every
// few hundred rows when w is an http.Flusher; an XLSX table streams its
// sheet (excelize StreamWriter: rows go to a temporary file, not memory)
// and writes the workbook on Close.
func NewTable(format string, w io.Writer, sheet string) (Table, error) {
	switch format {
	case FormatCSV, "":
		return &csvTable{w: csv.NewWriter(w), out: w}, nil
	case FormatXLSX:
		return newXLSXTable(w, sheet)
	}
	return nil, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_format", Message: "format must be csv or xlsx",
		Fields: []apperr.FieldError{{Pointer: "/query/format", Code: "enum", Message: "csv or xlsx"}}}
}

// header is a column's export header: its zh-CN label (English if none).
func header(c Column) string {
	if l := c.Label["zh-CN"]; l != "" {
		return l
	}
	if l := c.Label["en"]; l != "" {
		return l
	}
	return c.Key
}

type csvTable struct {
	w    *csv.Writer
	out  io.Writer
	cols []Column
	n    int
}

func (t *csvTable) Header(cols []Column) error {
	t.cols = cols
	if _, err := io.WriteString(t.out, "\uFEFF"); err != nil {
		return err
	}
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = header(c)
	}
	return t.w.Write(h)
}

func (t *csvTable) Row(vals []any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = csvCell(t.cols[i].Type, v)
	}
	if err := t.w.Write(rec); err != nil {
		return err
	}
	t.n++
	if t.n%500 == 0 {
		t.w.Flush()
		if err := t.w.Error(); err != nil {
			return err
		}
		if f, ok := t.out.(http.Flusher); ok {
			f.Flush()
		}
	}
	return nil
}

func (t *csvTable) Close() error {
	t.w.Flush()
	return t.w.Error()
}

func csvCell(typ string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		if typ == TypeMoney {
			return money(x)
		}
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// money formats minor units as major units with two decimals, exactly.
func money(minor int64) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// major is minor units as a number of major units (exact as decimal text).
func major(minor int64) float64 {
	f, _ := strconv.ParseFloat(money(minor), 64)
	return f
}

type xlsxTable struct {
	f                  *excelize.File
	sw                 *excelize.StreamWriter
	out                io.Writer
	cols               []Column
	n                  int
	head, moneyS, pctS int
	numS               int
}

func newXLSXTable(w io.Writer, sheet string) (*xlsxTable, error) {
	if sheet == "" {
		sheet = "报表"
	}
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	t := &xlsxTable{f: f, sw: sw, out: w}
	if t.head, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return nil, err
	}
	two := "0.00"
	if t.moneyS, err = f.NewStyle(&excelize.Style{CustomNumFmt: &two}); err != nil {
		return nil, err
	}
	pct := "0.00%"
	if t.pctS, err = f.NewStyle(&excelize.Style{CustomNumFmt: &pct}); err != nil {
		return nil, err
	}
	num := "0.######"
	if t.numS, err = f.NewStyle(&excelize.Style{CustomNumFmt: &num}); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *xlsxTable) next() string {
	t.n++
	cell, _ := excelize.CoordinatesToCellName(1, t.n)
	return cell
}

func (t *xlsxTable) Header(cols []Column) error {
	t.cols = cols
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = excelize.Cell{Value: header(c), StyleID: t.head}
	}
	for i, c := range cols {
		w := 14.0
		if c.Type == TypeString {
			w = 20
		}
		if err := t.sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	return t.sw.SetRow(t.next(), vals)
}

func (t *xlsxTable) Row(vals []any) error {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			out[i] = nil
		case int64:
			if t.cols[i].Type == TypeMoney {
				out[i] = excelize.Cell{Value: major(x), StyleID: t.moneyS}
			} else {
				out[i] = x
			}
		case float64:
			switch t.cols[i].Type {
			case TypePercent:
				out[i] = excelize.Cell{Value: x, StyleID: t.pctS}
			default:
				out[i] = excelize.Cell{Value: x, StyleID: t.numS}
			}
		case string, bool:
			out[i] = x
		default:
			b, _ := json.Marshal(v)
			out[i] = string(b)
		}
	}
	return t.sw.SetRow(t.next(), out)
}

func (t *xlsxTable) Close() error {
	if err := t.sw.Flush(); err != nil {
		return err
	}
	if _, err := t.f.WriteTo(t.out); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return t.f.Close()
}

// WriteResult writes a result's rows (and a totals row when it has
// dimensions) to t.
func WriteResult(t Table, r *Result) error {
	if err := t.Header(r.Columns); err != nil {
		return err
	}
	for _, rw := range r.Rows {
		vals := make([]any, len(r.Columns))
		for i, c := range r.Columns {
			vals[i] = rw[c.Key]
		}
		if err := t.Row(vals); err != nil {
			return err
		}
	}
	dims := 0
	for _, c := range r.Columns {
		if c.Role == "dimension" {
			dims++
		}
	}
	if dims > 0 && len(r.Totals) > 0 && len(r.Rows) > 1 {
		vals := make([]any, len(r.Columns))
		vals[0] = "合计 Total"
		for i, c := range r.Columns {
			if c.Role == "measure" {
				vals[i] = r.Totals[c.Key]
			}
		}
		if err := t.Row(vals); err != nil {
			return err
		}
	}
	return t.Close()
}

// ExportRecords writes the records of object the caller may see (filters
// and sort as for a list) to w. The conditions are those of the list API —
// the caller's visibility (owner ∈ …), live records, each filter typed by
// its field — pushed down to one streaming store scan in the list's order,
// so rows go out as they are read and none is held. Columns: id, owner
// (name), every field in declared order with its zh-CN label (money in 元
// as numbers), created, updated.
func (s *Service) ExportRecords(ctx context.Context, db store.DB, tenant string, p *auth.Principal, object string, q records.ListQuery, format string, w io.Writer) error {
	// The list checks the object, the token's scope and every filter and
	// the sort: a mistake is a clean 4xx before anything is written.
	probe := q
	probe.Limit, probe.Cursor = 1, ""
	if _, _, err := s.recs.List(ctx, db, p, object, probe); err != nil {
		return err
	}
	obj, err := s.objs.Published(ctx, db, tenant, object)
	if err != nil {
		return err
	}
	where := []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}
	vis, err := auth.VisibilityOf(ctx, db, p)
	if err != nil {
		return err
	}
	if !vis.All {
		in := make([]any, len(vis.Owners))
		for i, o := range vis.Owners {
			in[i] = o
		}
		where = append(where, store.Cond{Field: "owner", Op: store.In, Value: in})
	}
	for _, f := range q.Filters {
		c, err := listCond(obj, f)
		if err != nil {
			return apperr.BadRequest("%v", err)
		}
		where = append(where, c)
	}
	sortKey := store.SortKey{Field: "updatedAt", Desc: true}
	if q.Sort != "" {
		name := strings.TrimPrefix(q.Sort, "-")
		field := "data." + name
		if name == "createdAt" || name == "updatedAt" || name == "owner" {
			field = name
		}
		sortKey = store.SortKey{Field: field, Desc: strings.HasPrefix(q.Sort, "-")}
	}
	t, err := NewTable(format, w, exportSheet(obj.Definition))
	if err != nil {
		return err
	}
	users := map[string]string{}
	if us, err := auth.ListUsers(ctx, db); err == nil {
		for _, u := range us {
			users[u.ID] = u.DisplayName
		}
	}
	cols := []Column{
		{Key: "id", Label: map[string]string{"zh-CN": "编号", "en": "ID"}, Type: TypeString},
		{Key: "owner", Label: map[string]string{"zh-CN": "负责人", "en": "Owner"}, Type: TypeString},
	}
	var fields []forms.Field
	for _, name := range obj.FieldOrder {
		f := obj.Fields[name]
		fields = append(fields, f)
		cols = append(cols, Column{Key: name, Label: fieldLabel(obj.Definition, name), Type: colType(f.Type)})
	}
	cols = append(cols,
		Column{Key: "createdAt", Label: map[string]string{"zh-CN": "创建时间", "en": "Created"}, Type: TypeDateTime},
		Column{Key: "updatedAt", Label: map[string]string{"zh-CN": "更新时间", "en": "Updated"}, Type: TypeDateTime})
	if err := t.Header(cols); err != nil {
		return err
	}
	vals := make([]any, len(cols))
	err = db.Scan(ctx, obj.Collection(), store.Query{Where: where, Sort: []store.SortKey{sortKey}}, func(d store.Doc) error {
		owner, _ := d["owner"].(string)
		if n := users[owner]; n != "" {
			owner = n
		}
		data, _ := d["data"].(map[string]any)
		vals[0], vals[1] = store.ID(d), owner
		for i, f := range fields {
			vals[2+i] = cellOf(f, data[f.Name])
		}
		vals[len(vals)-2], _ = d["createdAt"].(string)
		vals[len(vals)-1], _ = d["updatedAt"].(string)
		return t.Row(vals)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return t.Close()
}

// listCond is a list filter as a store condition, typed by the field (the
// list API's rules: records.List has checked the filter already).
func listCond(obj *objects.Compiled, f records.Filter) (store.Cond, error) {
	fd, ok := obj.Fields[f.Field]
	if !ok {
		return store.Cond{}, fmt.Errorf("unknown field %q", f.Field)
	}
	conv := func(s string) (any, error) {
		switch fd.Type {
		case forms.TypeInteger, forms.TypeMoney:
			return strconv.ParseInt(s, 10, 64)
		case forms.TypeNumber:
			return strconv.ParseFloat(s, 64)
		case forms.TypeBoolean:
			return strconv.ParseBool(s)
		}
		return s, nil
	}
	if f.Op == store.In {
		var vals []any
		for _, part := range strings.Split(f.Value, ",") {
			v, err := conv(part)
			if err != nil {
				return store.Cond{}, err
			}
			vals = append(vals, v)
		}
		return store.Cond{Field: "data." + f.Field, Op: store.In, Value: vals}, nil
	}
	v, err := conv(f.Value)
	if err != nil {
		return store.Cond{}, err
	}
	return store.Cond{Field: "data." + f.Field, Op: f.Op, Value: v}, nil
}

func exportSheet(def map[string]any) string {
	if l, ok := def["label"].(map[string]any); ok {
		if zh, ok := l["zh-CN"].(string); ok && zh != "" && len(zh) <= 31 {
			return zh
		}
	}
	return "记录"
}

func colType(t forms.FieldType) string {
	switch t {
	case forms.TypeInteger:
		return TypeInteger
	case forms.TypeNumber:
		return TypeNumber
	case forms.TypeMoney:
		return TypeMoney
	case forms.TypeBoolean:
		return TypeBoolean
	case forms.TypeDate:
		return TypeDate
	case forms.TypeDateTime:
		return TypeDateTime
	}
	return TypeString
}

// cellOf is a stored field value as an export cell value.
func cellOf(f forms.Field, v any) any {
	switch f.Type {
	case forms.TypeInteger, forms.TypeMoney:
		return norm(v, TypeInteger)
	case forms.TypeNumber:
		return norm(v, TypeNumber)
	case forms.TypeString, forms.TypeDate, forms.TypeDateTime, forms.TypeBoolean:
		return norm(v, TypeString)
	}
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fieldLabel is a field's label from the object definition's hints.
func fieldLabel(def map[string]any, name string) map[string]string {
	out := map[string]string{"en": name}
	if hints, ok := def["fields"].(map[string]any); ok {
		if h, ok := hints[name].(map[string]any); ok {
			if l, ok := h["label"].(map[string]any); ok {
				for k, v := range l {
					if s, ok := v.(string); ok {
						out[k] = s
					}
				}
			}
		}
	}
	return out
}
