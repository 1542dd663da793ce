// Command benchreport turns `go test -bench` output into BENCHMARKS.md: a
// table of every benchmark (median of the runs) and the ratios the issues
// set goals for. Usage: go test -bench … | go run ./scripts/benchreport -o BENCHMARKS.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ratio is a goal: numerator / denominator of ns/op must stay at or under max.
type ratio struct {
	name, num, den string
	max            float64
	what           string
}

var ratios = []ratio{
	{"record create over HTTP vs bare store insert", "BenchmarkRecordCreateHTTP", "BenchmarkStoreInsertBare", 3,
		"one POST /api/v1/records/customer (auth, JSON, schema validation, computed fields, insert) against one bare Insert of the same document into the same SQLite store"},
	{"deal write with 3 metrics vs the foundation's record create", "BenchmarkDealCreateHTTPTracked", "BenchmarkRecordCreateHTTP", 2,
		"POST /api/v1/records/deal with the demo pipeline and three metrics over deals, projection drained, against the customer create above"},
	{"progress, company node (50 team rows): 1M records vs 10k (flat)", "BenchmarkProgress/records=1M/company", "BenchmarkProgress/records=10k/company", 2,
		"the same progress call over rollups of 100× more records (1,000 reps in 50 teams, one quarter); flat means the cost follows the org, not the records"},
	{"progress, team node (20 member rows): 1M records vs 10k (flat)", "BenchmarkProgress/records=1M/team", "BenchmarkProgress/records=10k/team", 2,
		"as above for one team of 20"},
	{"progress from rollups vs scanning the records (company, 10k records)", "BenchmarkProgress/records=10k/company", "BenchmarkProgressScan/records=10k/company", 1,
		"the company answer from rollups against summing every record's contributions; scanning grows with the records (×100 at 1M), rollups do not"},
	{"formula through engine/rules vs bare expr.Run", "BenchmarkEngineRun", "BenchmarkBareExprRun", 1.5,
		"a cached, bounded program with a map env against expr.Run with a prebuilt env"},
	{"commission calculation vs the same plan hand-written in Go", "BenchmarkCalculate", "BenchmarkHandWritten", 5,
		"1,000 reps × 1,000 split credit lines through a compiled plan (3-band marginal, line and period caps, a SPIF formula), explained lines out, against plain Go computing the same lines (TestHandWrittenMatches checks they are equal)"},
	{"commission run on the embedded store vs reading its credited records", "BenchmarkCommissionRun", "BenchmarkReadCredited", 2,
		"a whole run (credit, calculate, write statements) against merely reading the same credited records from the same SQLite store"},
	{"exact target allocation vs a plain proportional split", "BenchmarkAllocate10k", "BenchmarkProportional10k", 2,
		"a 10,000-node org (company → 20 regions → 500 teams → 9,479 reps) to year, months and week parts with largest remainder, controlled rounding and explanations, against float proportions of the same tree with the same formula calls and no rounding"},
}

var line = regexp.MustCompile(`^(Benchmark[^\s]+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(.*)$`)

type result struct {
	ns     []float64
	extras map[string][]float64
}

func main() {
	out := flag.String("o", "BENCHMARKS.md", "output file")
	cmd := flag.String("cmd", "make bench", "command that reproduces the numbers")
	flag.Parse()
	results := map[string]*result{}
	var order []string
	var raw strings.Builder
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		t := sc.Text()
		raw.WriteString(t + "\n")
		fmt.Println(t)
		m := line.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		r := results[m[1]]
		if r == nil {
			r = &result{extras: map[string][]float64{}}
			results[m[1]] = r
			order = append(order, m[1])
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		r.ns = append(r.ns, v)
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			if x, err := strconv.ParseFloat(f[i], 64); err == nil {
				r.extras[f[i+1]] = append(r.extras[f[i+1]], x)
			}
		}
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark lines on stdin")
		os.Exit(1)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	write(f, *cmd, order, results)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func write(w io.Writer, cmd string, order []string, results map[string]*result) {
	fmt.Fprintf(w, "# Benchmarks\n\nReproduce with `%s` (medians of the runs shown). Machine: %d CPUs, %s/%s, %s. Written %s.\n\n",
		cmd, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintln(w, "## Goals\n\n| goal | measured | limit | status | what is compared |\n|---|---|---|---|---|")
	for _, r := range ratios {
		a, b := results[r.num], results[r.den]
		if a == nil || b == nil {
			fmt.Fprintf(w, "| %s | not run | ≤ %.1f× | — | %s |\n", r.name, r.max, r.what)
			continue
		}
		x := median(a.ns) / median(b.ns)
		status := "met"
		if x > r.max {
			status = "**missed**"
		}
		fmt.Fprintf(w, "| %s | %.2f× | ≤ %.1f× | %s | %s |\n", r.name, x, r.max, status, r.what)
	}
	fmt.Fprintln(w, "\n## All benchmarks\n\n| benchmark | runs | ns/op | per second | other |\n|---|---|---|---|---|")
	for _, name := range order {
		r := results[name]
		ns := median(r.ns)
		var extra []string
		keys := make([]string, 0, len(r.extras))
		for k := range r.extras {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			extra = append(extra, fmt.Sprintf("%.4g %s", median(r.extras[k]), k))
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %s |\n", strings.TrimPrefix(name, "Benchmark"), len(r.ns), ns, 1e9/ns, strings.Join(extra, ", "))
	}
}
