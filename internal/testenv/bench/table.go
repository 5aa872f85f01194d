package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Table is a titled grid of text cells, printed aligned for a terminal and
// as Markdown for docs/benchmark.md.
type Table struct {
	Title  string
	Notes  []string // lines under the title
	Header []string
	Rows   [][]string
}

// WriteText prints the table with columns padded to their widest cell and
// a rule under the header.
func (t Table) WriteText(w io.Writer) error {
	widths := t.widths()
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	for _, n := range t.Notes {
		b.WriteString("  " + n + "\n")
	}
	line := func(cells []string) {
		var l strings.Builder
		for i, w := range widths {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			l.WriteString(cell)
			if i < len(widths)-1 {
				l.WriteString(strings.Repeat(" ", w-utf8.RuneCountInString(cell)+2))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	line(t.Header)
	rule := make([]string, len(widths))
	for i, w := range widths {
		rule[i] = strings.Repeat("-", w)
	}
	line(rule)
	for _, r := range t.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown prints the table as a Markdown heading, notes and a pipe
// table. Pipes inside cells are escaped.
func (t Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "### %s\n\n", t.Title)
	}
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "%s  \n", n)
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
	}
	row := func(cells []string) {
		b.WriteString("|")
		for i := range t.widths() {
			cell := ""
			if i < len(cells) {
				cell = strings.ReplaceAll(cells[i], "|", `\|`)
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for range t.widths() {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// widths is the widest cell per column, in runes.
func (t Table) widths() []int {
	n := len(t.Header)
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	widths := make([]int, n)
	measure := func(cells []string) {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	measure(t.Header)
	for _, r := range t.Rows {
		measure(r)
	}
	return widths
}
