package commission

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/commission/calc"
	"stride/engine/store"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// ExportQuery selects the statements of an export (one statement by ID, or
// a plan/period/rep/status selection); visibility applies as for lists.
type ExportQuery struct {
	ID                        string
	Plan, Period, Rep, Status string
}

// exportHeaders are the columns of an export, zh-CN first (finance teams
// open these in Excel/WPS), English in the header's second line of docs.
var exportHeaders = []string{"提成单", "方案", "方案版本", "期间", "销售", "销售ID", "状态", "行ID", "规则", "类型", "记录", "计提日期",
	"计提基数（元）", "费率", "金额（元）", "单据合计（元）", "说明"}

// ExportSheet is the XLSX sheet's name.
const ExportSheet = "提成明细"

// Export writes the selected statements, one row per line (a statement
// without lines gets one row), to w as CSV (UTF-8 with BOM, so Excel reads
// the Chinese headers) or XLSX (streamed; money as numeric cells in major
// units with a 0.00 format). Statements are read one at a time.
func (s *Service) Export(ctx context.Context, db store.DB, p *auth.Principal, q ExportQuery, format string, w io.Writer) error {
	var rows rowWriter
	switch format {
	case FormatCSV, "":
		rows = newCSVRows(w)
	case FormatXLSX:
		x, err := newXLSXRows(w)
		if err != nil {
			return err
		}
		rows = x
	default:
		return apperr.Invalid("unknown format", apperr.FieldError{Pointer: "/query/format", Code: "enum", Message: "csv or xlsx"})
	}
	if err := rows.header(exportHeaders); err != nil {
		return err
	}
	emit := func(st *Statement) error {
		lines := st.Lines
		if len(lines) == 0 {
			lines = []Line{{}}
		}
		for _, l := range lines {
			text := ""
			if l.ID != "" {
				text = calc.Text(l.Line, "zh-CN")
				if l.Source != nil && l.Explain.Note != "" {
					text = l.Explain.Note
				}
			}
			var rate *float64
			if l.Rate != nil {
				rate = l.Rate
			}
			if err := rows.row(exportRow{st: st, l: l, rate: rate, text: text}); err != nil {
				return err
			}
		}
		return nil
	}
	if q.ID != "" {
		st, err := s.Statement(ctx, db, p, q.ID)
		if err != nil {
			return err
		}
		if err := emit(st); err != nil {
			return err
		}
		return rows.close()
	}
	vis, err := visibility(ctx, db, p)
	if err != nil {
		return err
	}
	if where, ok := listWhere(ListQuery{Plan: q.Plan, Period: q.Period, Rep: q.Rep, Status: q.Status}, vis); ok {
		err := db.Scan(ctx, collStatements, store.Query{Where: where, Sort: []store.SortKey{{Field: "periodStart"}, {Field: "repName"}}},
			func(d store.Doc) error {
				st, err := statementFrom(d)
				if err != nil {
					return err
				}
				return emit(st)
			})
		if err != nil {
			return err
		}
	}
	return rows.close()
}

type exportRow struct {
	st   *Statement
	l    Line
	rate *float64
	text string
}

type rowWriter interface {
	header([]string) error
	row(exportRow) error
	close() error
}

type csvRows struct {
	w   *csv.Writer
	out io.Writer
}

func newCSVRows(w io.Writer) *csvRows { return &csvRows{w: csv.NewWriter(w), out: w} }

func (c *csvRows) header(h []string) error {
	if _, err := io.WriteString(c.out, "\uFEFF"); err != nil {
		return err
	}
	return c.w.Write(h)
}

func (c *csvRows) row(r exportRow) error {
	rate, base, amount := "", "", ""
	if r.rate != nil {
		rate = strconv.FormatFloat(*r.rate, 'f', -1, 64)
	}
	if r.l.ID != "" {
		base, amount = money(r.l.Base), money(r.l.Amount)
	}
	return c.w.Write([]string{r.st.ID, r.st.Plan, strconv.FormatInt(r.st.PlanVersion, 10), r.st.Period, r.st.RepName, r.st.Rep, statusLabel(r.st.Status),
		r.l.ID, r.l.Rule, r.l.Kind, r.l.Record, r.l.CreditDate, base, rate, amount, money(r.st.Total), r.text})
}

func (c *csvRows) close() error {
	c.w.Flush()
	return c.w.Error()
}

type xlsxRows struct {
	f                   *excelize.File
	sw                  *excelize.StreamWriter
	out                 io.Writer
	n                   int
	head, moneyS, rateS int
}

func newXLSXRows(w io.Writer) (*xlsxRows, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", ExportSheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(ExportSheet)
	if err != nil {
		return nil, err
	}
	x := &xlsxRows{f: f, sw: sw, out: w}
	if x.head, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return nil, err
	}
	two := "0.00"
	if x.moneyS, err = f.NewStyle(&excelize.Style{CustomNumFmt: &two}); err != nil {
		return nil, err
	}
	pct := "0.00##%"
	if x.rateS, err = f.NewStyle(&excelize.Style{CustomNumFmt: &pct}); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		from, to int
		w        float64
	}{{1, 1, 34}, {2, 4, 12}, {5, 6, 16}, {7, 10, 12}, {11, 12, 18}, {13, 16, 14}, {17, 17, 60}} {
		if err := sw.SetColWidth(c.from, c.to, c.w); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func (x *xlsxRows) next() string {
	x.n++
	cell, _ := excelize.CoordinatesToCellName(1, x.n)
	return cell
}

func (x *xlsxRows) header(h []string) error {
	vals := make([]any, len(h))
	for i, s := range h {
		vals[i] = excelize.Cell{Value: s, StyleID: x.head}
	}
	return x.sw.SetRow(x.next(), vals)
}

func (x *xlsxRows) row(r exportRow) error {
	var base, amount, rate any = nil, nil, nil
	if r.l.ID != "" {
		base = excelize.Cell{Value: major(r.l.Base), StyleID: x.moneyS}
		amount = excelize.Cell{Value: major(r.l.Amount), StyleID: x.moneyS}
	}
	if r.rate != nil {
		rate = excelize.Cell{Value: *r.rate, StyleID: x.rateS}
	}
	return x.sw.SetRow(x.next(), []any{r.st.ID, r.st.Plan, r.st.PlanVersion, r.st.Period, r.st.RepName, r.st.Rep, statusLabel(r.st.Status),
		r.l.ID, r.l.Rule, r.l.Kind, r.l.Record, r.l.CreditDate, base, rate, amount,
		excelize.Cell{Value: major(r.st.Total), StyleID: x.moneyS}, r.text})
}

func (x *xlsxRows) close() error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if _, err := x.f.WriteTo(x.out); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return x.f.Close()
}

// major is minor units as a number of major units (exact to the cent as
// decimal text; the cell's 0.00 format shows two decimals).
func major(minor int64) float64 {
	f, _ := strconv.ParseFloat(money(minor), 64)
	return f
}

func statusLabel(s string) string {
	switch s {
	case StatusDraft:
		return "草稿 draft"
	case StatusApproved:
		return "已批准 approved"
	case StatusPaid:
		return "已支付 paid"
	}
	return s
}
