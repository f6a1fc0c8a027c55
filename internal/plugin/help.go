package plugin

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	flags "github.com/jessevdk/go-flags"
	"golang.org/x/term"
)

// Our own --help, because go-flags' puts every description in one column
// right of the longest option ("--oauth-client-secret-ref=REF"), which at
// 80 columns leaves a dozen characters and splits words at their hyphens.
// Here each option gets its own line and its description is wrapped below
// it with a fixed indent; options are listed by section, and the plugin's
// examples close the text.

// Example is a command line that works against a real server and what it
// checks: shown at the end of --help and in the man page's EXAMPLES.
type Example struct{ Command, Checks string }

// Exampler is an option struct whose plugin has examples.
type Exampler interface{ Examples() []Example }

// HelpWidth is the width --help is wrapped to: 80 columns, fewer on a
// narrower terminal, so that the text is the same piped or on a terminal.
const HelpWidth = 80

// minHelpWidth keeps a very narrow terminal from wrapping a word per line.
const minHelpWidth = 40

// Indents of the option lines, of their descriptions and of the
// continuation lines of an example's command.
const (
	optIndent  = "  "
	descIndent = "        "
	contIndent = "      "
)

// The sections of --help come from the go-flags groups of the embedded
// option structs (`group:"TLS"`) and, for a plugin's own options, from a
// `section:"..."` tag, so that -p sits with -H. A section found in this
// list is placed by it; a plugin's own sections go between, in the order
// their first option is declared.
var sectionOrder = map[string]int{"Connection": 1, "TLS": 2, "Thresholds": 8, "Secret stores": 9, "Output and run": 10}

// ownSectionRank places the sections that sectionOrder does not name.
const ownSectionRank = 5

type helpSection struct {
	name string
	opts []*flags.Option
}

// helpSections groups the visible options of p by section. The options of
// the embedded groups come first within a section (-H before -p), and the
// built-in -h joins --version's section.
func helpSections(p *flags.Parser) []helpSection {
	var list []helpSection
	add := func(name string, o *flags.Option) {
		i := slices.IndexFunc(list, func(s helpSection) bool { return s.name == name })
		if i < 0 {
			list, i = append(list, helpSection{name: name}), len(list)
		}
		list[i].opts = append(list[i].opts, o)
	}
	var help []*flags.Option
	var walk func(g *flags.Group)
	walk = func(g *flags.Group) {
		for _, sub := range g.Groups() {
			walk(sub)
		}
		for _, o := range g.Options() {
			switch {
			case o.Hidden:
			case o.LongName == "help":
				help = append(help, o)
			default:
				add(cmp.Or(o.Field().Tag.Get("section"), g.ShortDescription), o)
			}
		}
	}
	walk(p.Command.Group)
	if v := p.FindOptionByLongName("version"); v != nil && len(help) > 0 {
		for i := range list {
			if slices.Contains(list[i].opts, v) {
				list[i].opts = append(list[i].opts, help...)
			}
		}
	}
	rank := func(s helpSection) int { return cmp.Or(sectionOrder[s.name], ownSectionRank) }
	slices.SortStableFunc(list, func(a, b helpSection) int { return cmp.Compare(rank(a), rank(b)) })
	return list
}

// WriteHelp writes the --help text of p, wrapped to width, with the
// examples of opts if it has any.
func WriteHelp(w io.Writer, p *flags.Parser, opts Options, width int) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n%s%s [OPTIONS]\n", optIndent, p.Name)
	for _, s := range helpSections(p) {
		fmt.Fprintf(&b, "\n%s:\n", s.name)
		for _, o := range s.opts {
			b.WriteString(optIndent + optionLine(o) + "\n")
			wrap(&b, optionWords(o), descIndent, width)
		}
	}
	if e, ok := opts.(Exampler); ok && len(e.Examples()) > 0 {
		b.WriteString("\nExamples:\n")
		for i, ex := range e.Examples() {
			if i > 0 {
				b.WriteString("\n")
			}
			writeCommand(&b, ex.Command, width)
			wrap(&b, strings.Fields(ex.Checks), descIndent, width)
		}
	}
	io.WriteString(w, b.String())
}

// optionLine is "-p, --port=PORT": the value name, or for an option with
// a fixed set of values those values, once; an optional value in brackets.
func optionLine(o *flags.Option) string {
	var names []string
	if o.ShortName != 0 {
		names = append(names, "-"+string(o.ShortName))
	}
	if o.LongName != "" { // with the namespace of its group: --imap-user
		names = append(names, "--"+o.LongNameWithNamespace())
	}
	line := strings.Join(names, ", ")
	if !takesValue(o) {
		return line
	}
	value := o.ValueName
	if len(o.Choices) > 0 {
		value = strings.Join(o.Choices, "|")
	}
	if o.OptionalArgument {
		return line + "[=" + value + "]"
	}
	return line + "=" + value
}

// optionWords are the words of the description, then the default of a
// `default:` tag as one word, so that "(default:" and its value stay on
// one line.
func optionWords(o *flags.Option) []string {
	words := strings.Fields(o.Description)
	if len(o.Default) > 0 && takesValue(o) {
		words = append(words, "(default: "+strings.Join(o.Default, ", ")+")")
	}
	return words
}

// takesValue reports whether o is not a switch: a bool, -v's []bool or
// go-flags' own -h (a func() error).
func takesValue(o *flags.Option) bool {
	t := o.Field().Type
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t.Kind() != reflect.Bool && !(t.Kind() == reflect.Func && t.NumIn() == 0)
}

// wrap writes words as lines of at most width columns, each starting with
// indent, breaking only between words: a word longer than a line gets a
// line of its own rather than being cut.
func wrap(b *strings.Builder, words []string, indent string, width int) {
	line := indent
	for _, w := range words {
		if line != indent && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	if line != indent {
		b.WriteString(line + "\n")
	}
}

// writeCommand writes an example's command line as a shell would take it
// when pasted: lines broken between words and continued with a backslash,
// an option kept on the line of its value.
func writeCommand(b *strings.Builder, cmd string, width int) {
	var words []string
	for _, w := range strings.Fields(cmd) {
		if n := len(words); n > 0 && strings.HasPrefix(words[n-1], "-") && !strings.Contains(words[n-1], " ") && !strings.HasPrefix(w, "-") {
			words[n-1] += " " + w
			continue
		}
		words = append(words, w)
	}
	line := optIndent
	for _, w := range words {
		// Room is kept for the " \" that ends a continued line.
		if strings.TrimSpace(line) != "" && len(line)+1+len(w)+2 > width {
			b.WriteString(line + " \\\n")
			line = contIndent
		}
		if strings.TrimSpace(line) != "" {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
}

// helpWidth is the width for stdout: see fitWidth.
func helpWidth() int {
	cols, _, err := term.GetSize(int(os.Stdout.Fd()))
	return fitWidth(cols, err == nil)
}

// fitWidth is HelpWidth, piped or on a terminal at least as wide, so that
// the text is the same everywhere; on a narrower terminal its width.
func fitWidth(cols int, terminal bool) int {
	if terminal && cols < HelpWidth {
		return max(cols, minHelpWidth)
	}
	return HelpWidth
}
