// Package docs holds flowd's documentation for users. Its test keeps the
// documentation honest: every relative link in a Markdown file or a source
// comment must lead to a file of the repository (and a link to a heading must
// name a heading of that file), and nothing may point outside the repository,
// where a reader of the repository, or a user of an installed flowd, cannot
// follow it.
package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestLinks checks the whole repository. A failure names the file and line and
// says what is wrong; fix the link or the reference there.
func TestLinks(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root %s has no go.mod: %v", root, err)
	}
	problems, checked, err := check(root)
	if err != nil {
		t.Fatal(err)
	}
	if checked.markdown == 0 || checked.links == 0 {
		t.Fatalf("checked %d Markdown files and %d links: the walk found nothing, so it checks nothing", checked.markdown, checked.links)
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("checked %d Markdown files, %d source files and %d links", checked.markdown, checked.sources, checked.links)
}

// TestLinksCatchesBadOnes plants each kind of bad reference in a repository of
// its own and checks that every one is reported, and that good links are not.
func TestLinksCatchesBadOnes(t *testing.T) {
	root := t.TempDir()
	outside := outsideRefs[0] + "/notes.md" // built from the list, so that this file does not trip TestLinks
	files := map[string]string{
		"go.mod":         "module example.com/x\n",
		"README.md":      "# Top\n\n[ok](docs/a.md) [ok](docs/a.md#a-heading) [ok](#top) ![pic](docs/pic.png)\n\n[gone](docs/missing.md)\n\n[bad anchor](docs/a.md#nowhere)\n\n[out](" + outside + ")\n\n```\n[in code](nothing.md)\n```\n",
		"docs/a.md":      "# A heading\n\nSee [the top](../README.md#top) and [up](../../escape.md).\n\nRead `other.md` first.\n\n[ref]: ./ghost.md\n\nAt file://" + "/etc/passwd.\n",
		"docs/pic.png":   "png",
		"pkg/x.go":       "// Package x, see [docs](../docs/a.md) and [nothing](../docs/none.md).\n//\n// Read " + "/work/" + "main/notes.md.\npackage x\n\nvar s = \"/work/ in a string is code, not a comment\"\n",
		"examples/e.js":  "// see " + "spec/" + "flow-api.md\nconst u = 'http://x/*not a comment*/';\n/* ok: docs/a.md */\nfunction handler() {}\n",
		"web/src/a.ts":   "const r = /\\/\\//; // " + "../.library" + "/x\n",
		"web/dist/a.js":  "// spec/" + "ignored.md: built files are not checked\n",
		"web/e2e/m.mjs":  "// fine: README.md\n",
		"node_modules/x": "",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	problems, _, err := check(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:5: link docs/missing.md:",
		"README.md:7: link docs/a.md#nowhere: docs/a.md has no heading",
		"README.md:9: link " + outside + ": it points outside the repository",
		"README.md:9: \"../" + "shared\"",
		"docs/a.md:3: link ../../escape.md: it points outside the repository",
		"docs/a.md:5: reference other.md:",
		"docs/a.md:7: link ./ghost.md:",
		"docs/a.md:9: \"file:" + "//\"",
		"pkg/x.go:1: link ../docs/none.md:",
		"pkg/x.go:3: \"/work/\"",
		"examples/e.js:1: reference " + "spec/" + "flow-api.md:",
		"web/src/a.ts:1: \"../.library\"",
	}
	for _, w := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("missing a problem starting %q", w)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
}

// checked counts what check looked at.
type checked struct{ markdown, sources, links int }

// skipDirs are directories whose files are not ours to check: dependencies,
// build output and local state.
var skipDirs = []string{".git", "node_modules", "vendor", "web/dist", "data", "ci-artifacts", "bench-out", "web/e2e/artifacts"}

// check walks the repository at root and returns the problems found, each as
// "path:line: what is wrong", sorted.
func check(root string) ([]string, checked, error) {
	var (
		problems []string
		n        checked
	)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(must(filepath.Rel(root, p)))
		if d.IsDir() {
			if slices.Contains(skipDirs, rel) || slices.Contains(skipDirs, d.Name()) && d.Name() != "data" {
				return filepath.SkipDir
			}
			return nil
		}
		kind := fileKind(rel)
		if kind == "" {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		c := &checker{root: root, file: rel}
		switch kind {
		case "markdown":
			n.markdown++
			c.markdown(src)
		case "go":
			n.sources++
			c.goComments(src)
		case "js":
			n.sources++
			c.jsComments(src)
		case "text":
			n.sources++
			c.outsidePaths(1, string(src))
		}
		problems = append(problems, c.problems...)
		n.links += c.links
		return nil
	})
	slices.Sort(problems)
	return problems, n, err
}

// fileKind says how a file is checked: "markdown" for links and references,
// "go" and "js" for those in comments, "text" for references outside the
// repository anywhere in it; "" not at all.
func fileKind(rel string) string {
	switch ext := path.Ext(rel); {
	case ext == ".md":
		return "markdown"
	case ext == ".go":
		return "go"
	case ext == ".js" || ext == ".mjs" || ext == ".ts" || ext == ".tsx":
		return "js"
	case ext == ".sh" || ext == ".yaml" || ext == ".yml" || path.Base(rel) == "Dockerfile" || rel == ".ci/run":
		return "text"
	}
	return ""
}

// outsideRefs are references to places outside the repository: the working
// notes and tools of the machine flowd was developed on, and local files.
var outsideRefs = []string{"../" + "shared", "/work/", "../" + ".library", "file:" + "//"}

// checker collects the problems of one file.
type checker struct {
	root, file string
	problems   []string
	links      int
}

func (c *checker) report(line int, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("%s:%d: ", c.file, line)+fmt.Sprintf(format, args...))
}

// outsidePaths reports every reference outside the repository in text, which
// starts at line first.
func (c *checker) outsidePaths(first int, text string) {
	for i, line := range strings.Split(text, "\n") {
		for _, ref := range outsideRefs {
			if strings.Contains(line, ref) {
				c.report(first+i, "%q refers to a place outside the repository, which readers of the repository and users of flowd cannot see; write what is needed here or link a file of the repository", ref)
			}
		}
	}
}

var (
	fenceRE    = regexp.MustCompile("^ {0,3}(```+|~~~+)")
	codeSpanRE = regexp.MustCompile("`+[^`]*`+")
	inlineRE   = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?`)
	refDefRE   = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)`)
	htmlRefRE  = regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*"([^"]*)"`)
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	// mdMentionRE finds a Markdown file named in prose or code: README.md,
	// docs/limits.md, ./keys.md#rotation.
	mdMentionRE = regexp.MustCompile(`(?:^|[\s(\x60'"])((?:\.{1,2}/)*[A-Za-z0-9_-][A-Za-z0-9_./-]*\.md)(?:#[A-Za-z0-9_-]*)?\b`)
)

// markdown checks the links of a Markdown file, the Markdown files it names,
// and references outside the repository anywhere in it, code blocks included.
func (c *checker) markdown(src []byte) {
	c.outsidePaths(1, string(src))
	inFence := ""
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1][:1]
			case strings.HasPrefix(m[1], inFence):
				inFence = ""
			}
			continue
		}
		if inFence != "" {
			continue
		}
		prose := codeSpanRE.ReplaceAllString(line, "")
		var targets []string
		for _, m := range inlineRE.FindAllStringSubmatch(prose, -1) {
			targets = append(targets, m[1])
		}
		if m := refDefRE.FindStringSubmatch(prose); m != nil {
			targets = append(targets, m[1])
		}
		for _, m := range htmlRefRE.FindAllStringSubmatch(prose, -1) {
			targets = append(targets, m[1])
		}
		for _, t := range targets {
			c.link(n, t)
		}
		for _, m := range mdMentionRE.FindAllStringSubmatch(line, -1) {
			if !slices.ContainsFunc(targets, func(t string) bool { return strings.Contains(t, m[1]) }) {
				c.mention(n, m[1])
			}
		}
	}
}

// link checks one link target: a relative one must name a file or directory
// inside the repository, and an anchor a heading of the Markdown file it names.
func (c *checker) link(line int, target string) {
	c.links++
	if schemeRE.MatchString(target) {
		return // http:, https:, mailto:; file: is reported by outsidePaths
	}
	p, anchor, _ := strings.Cut(target, "#")
	p, _, _ = strings.Cut(p, "?")
	if dec, err := url.PathUnescape(p); err == nil {
		p = dec
	}
	rel := c.file
	if p != "" {
		var ok bool
		if rel, ok = c.resolve(path.Dir(c.file), p); !ok {
			c.report(line, "link %s: it points outside the repository; link a file of the repository instead", target)
			return
		}
		if _, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(rel))); err != nil {
			c.report(line, "link %s: there is no %s in the repository; fix the path or add the file", target, rel)
			return
		}
	}
	if anchor != "" && path.Ext(rel) == ".md" {
		anchors, err := headingAnchors(filepath.Join(c.root, filepath.FromSlash(rel)))
		if err != nil {
			c.report(line, "link %s: %v", target, err)
			return
		}
		if !slices.Contains(anchors, strings.ToLower(anchor)) {
			c.report(line, "link %s: %s has no heading with the anchor #%s; its anchors are %s", target, rel, anchor, strings.Join(anchors, ", "))
		}
	}
}

// mention checks a Markdown file named without a link, as a reader would look
// for it: beside the file that names it, in a directory above, or at the root.
func (c *checker) mention(line int, name string) {
	c.links++
	for dir := path.Dir(c.file); ; dir = path.Dir(dir) {
		if rel, ok := c.resolve(dir, name); ok {
			if _, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(rel))); err == nil {
				return
			}
		}
		if dir == "." {
			break
		}
	}
	c.report(line, "reference %s: there is no such file in the repository; name a file of the repository (docs/...) or write what is needed here", name)
}

// resolve returns p, relative to the repository directory dir (or to the root
// when p starts with "/"), as a path relative to the root; false when it leaves
// the repository.
func (c *checker) resolve(dir, p string) (string, bool) {
	var rel string
	if strings.HasPrefix(p, "/") {
		rel = path.Clean(strings.TrimPrefix(p, "/"))
	} else {
		rel = path.Join(dir, p)
	}
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

var (
	atxRE    = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	setextRE = regexp.MustCompile(`^ {0,3}(=+|-+)\s*$`)
	idRE     = regexp.MustCompile(`(?i)<a\s+(?:id|name)\s*=\s*"([^"]+)"`)
	linkRE   = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	tagRE    = regexp.MustCompile(`<[^>]+>`)
)

// headingAnchors returns the anchors GitHub gives the headings of a Markdown
// file (and those of <a id> or <a name> tags in it).
func headingAnchors(file string) ([]string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var anchors []string
	seen := map[string]int{}
	add := func(heading string) {
		slug := slugify(heading)
		if k := seen[slug]; k > 0 {
			anchors = append(anchors, fmt.Sprintf("%s-%d", slug, k))
		} else {
			anchors = append(anchors, slug)
		}
		seen[slug]++
	}
	inFence, prev := "", ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1][:1]
			case strings.HasPrefix(m[1], inFence):
				inFence = ""
			}
			prev = ""
			continue
		}
		if inFence != "" {
			continue
		}
		for _, m := range idRE.FindAllStringSubmatch(line, -1) {
			anchors = append(anchors, strings.ToLower(m[1]))
		}
		switch {
		case atxRE.MatchString(line):
			add(atxRE.FindStringSubmatch(line)[1])
			line = ""
		case setextRE.MatchString(line) && strings.TrimSpace(prev) != "" && !strings.ContainsAny(prev, "|"):
			add(prev)
			line = ""
		}
		prev = line
	}
	return anchors, sc.Err()
}

// slugify makes a heading's anchor as GitHub does: the rendered text in lower
// case, without punctuation, spaces turned into hyphens.
func slugify(heading string) string {
	heading = linkRE.ReplaceAllString(heading, "$1")
	heading = tagRE.ReplaceAllString(heading, "")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// commentLinkRE finds the targets of Markdown links and of Go doc link
// definitions ("[Name]: target") in a comment.
var commentLinkRE = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?|^\s*\[[^\]]+\]:\s*(\S+)`)

// comment checks one comment that starts at line first: its links, the Markdown
// files it names, and references outside the repository.
func (c *checker) comment(first int, text string) {
	c.outsidePaths(first, text)
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(line, "/* \t")
		var targets []string
		for _, m := range commentLinkRE.FindAllStringSubmatch(line, -1) {
			t := m[1] + m[2]
			targets = append(targets, t)
			c.link(first+i, t)
		}
		for _, m := range mdMentionRE.FindAllStringSubmatch(line, -1) {
			if !slices.ContainsFunc(targets, func(t string) bool { return strings.Contains(t, m[1]) }) {
				c.mention(first+i, m[1])
			}
		}
	}
}

// goComments checks the comments of a Go file.
func (c *checker) goComments(src []byte) {
	fset := token.NewFileSet()
	f := fset.AddFile(c.file, -1, len(src))
	var s scanner.Scanner
	s.Init(f, src, nil, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return
		}
		if tok == token.COMMENT {
			c.comment(fset.Position(pos).Line, lit)
		}
	}
}

// jsComments checks the comments of a JavaScript or TypeScript file. It knows
// strings, template literals and regular expression literals well enough not to
// take a "//" inside one for a comment.
func (c *checker) jsComments(src []byte) {
	s := string(src)
	line := 1
	prev := byte('\n') // the last significant character before the current one
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\n':
			line++
		case strings.HasPrefix(s[i:], "//"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s) - i
			}
			c.comment(line, s[i:i+end])
			i += end - 1
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				end = len(s) - i - 2
			}
			text := s[i : i+2+end]
			c.comment(line, text)
			line += strings.Count(text, "\n")
			i += 2 + end + 1
		case ch == '\'' || ch == '"' || ch == '`' || ch == '/' && strings.IndexByte("(,=:[!&|?{};+-*%<>~^\n", prev) >= 0:
			j := i + 1
			inClass := false
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '\n' {
					line++
					if ch != '`' {
						break // an unterminated string or a division after all
					}
				}
				if ch == '/' && s[j] == '[' {
					inClass = true
				} else if ch == '/' && s[j] == ']' {
					inClass = false
				} else if s[j] == ch && !inClass {
					break
				}
			}
			i = j
			prev = 'a'
			continue
		}
		if ch > ' ' {
			prev = ch
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
