package bench

import (
	"fmt"
	"strings"
	"sync"
)

// Verdicts of a row.
const (
	Met    = "met"
	Missed = "MISSED"
	NoGoal = "—"
	Failed = "FAILED"
)

// Row is one line of the summary table.
type Row struct {
	ID, Measure, Target, Measured, Verdict string
}

// Report collects the rows and notes of one run.
type Report struct {
	mu     sync.Mutex
	Title  string
	Rows   []Row
	Tables []Table // printed after the summary table
	Notes  []string
}

// Table is a table of its own beside the summary, such as "P2b by HAProxy
// version".
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// AddTable appends a table.
func (r *Report) AddTable(t Table) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Tables = append(r.Tables, t)
}

// Add appends a row; verdict is Met, Missed, NoGoal or Failed.
func (r *Report) Add(id, measure, target, measured, verdict string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Rows = append(r.Rows, Row{ID: id, Measure: measure, Target: target, Measured: measured, Verdict: verdict})
}

// Fail records a measurement that could not be taken.
func (r *Report) Fail(id, measure string, err error) {
	r.Add(id, measure, "", "error: "+oneLine(err.Error()), Failed)
}

// Note appends a free-text note printed under the table.
func (r *Report) Note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Verdict is Met when ok, else Missed.
func Verdict(ok bool) string {
	if ok {
		return Met
	}
	return Missed
}

// Markdown renders the summary table, the other tables and the notes.
func (r *Report) Markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	if r.Title != "" {
		fmt.Fprintf(&b, "%s\n\n", r.Title)
	}
	b.WriteString("| id | measure | target | measured | verdict |\n|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(row.ID), cell(row.Measure), cell(row.Target), cell(row.Measured), cell(row.Verdict))
	}
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "\n%s\n\n|", t.Title)
		for _, h := range t.Header {
			fmt.Fprintf(&b, " %s |", cell(h))
		}
		b.WriteString("\n|" + strings.Repeat("---|", len(t.Header)) + "\n")
		for _, row := range t.Rows {
			b.WriteString("|")
			for i := range t.Header {
				c := ""
				if i < len(row) {
					c = row[i]
				}
				fmt.Fprintf(&b, " %s |", cell(c))
			}
			b.WriteString("\n")
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return " "
	}
	return strings.ReplaceAll(oneLine(s), "|", "\\|")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
