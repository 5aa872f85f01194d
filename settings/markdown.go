package settings

import (
	"strings"
)

// README markers around the settings table that Markdown generates.
const (
	MarkdownBegin = "<!-- settings table: generated from settings/table.go by `go generate ./settings`; do not edit -->"
	MarkdownEnd   = "<!-- end of settings table -->"
)

// Markdown is the README's table of settings, one row a setting.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| flag | variable | label | compose | API field | default | meaning |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, s := range All {
		flag := "`--" + s.Name + "`"
		if s.Short != "" {
			flag = "`-" + s.Short + "`, " + flag
		}
		compose := code(s.Compose, "x-dswap.")
		if s.ComposeKeys != "" {
			keys := strings.Split(s.ComposeKeys, ", ")
			for i, k := range keys {
				keys[i] = "`" + k + "`"
			}
			compose = strings.TrimPrefix(compose+", "+strings.Join(keys, ", "), ", ")
		}
		row := []string{flag, code(s.Env, ""), code(s.Label, ""), compose, code(s.JSON, ""), defaultCell(s), cell(help(s))}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	return b.String()
}

func code(s, prefix string) string {
	if s == "" {
		return ""
	}
	return "`" + prefix + s + "`"
}

func defaultCell(s *Setting) string {
	switch {
	case s.DefaultDoc != "":
		return cell(s.DefaultDoc)
	case s.Default == "" || s.Kind == Bool && s.Default == "false":
		return ""
	}
	return "`" + s.Default + "`"
}

// help is the meaning column: the help, and where the setting cannot go
// through a sidecar, what happens to it.
func help(s *Setting) string {
	switch s.Remote {
	case SidecarOwn:
		return s.Help + "; with `DSWAP_HOST` the sidecar's own"
	case Refused:
		return s.Help + "; refused with `DSWAP_HOST`"
	}
	return s.Help
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// Splice puts table between the markers of doc, replacing what stood
// there; ok is false when doc lacks the markers.
func Splice(doc, table string) (string, bool) {
	begin := strings.Index(doc, MarkdownBegin)
	end := strings.Index(doc, MarkdownEnd)
	if begin < 0 || end < begin {
		return doc, false
	}
	return doc[:begin+len(MarkdownBegin)] + "\n" + table + doc[end:], true
}
