package markdown

import "bytes"

// goldmark is linear on ordinary documents but quadratic on a few shapes an uploader can craft
// on purpose: deeply nested block quotes, a paragraph full of unmatched emphasis or link
// openers, and tables whose rows are padded out to thousands of columns. A 64 KiB README of
// any of these takes seconds; 1 MiB takes minutes. Such READMEs are shown as plain text instead.
const (
	// maxQuoteDepth bounds "> > > ..." nesting on one line.
	maxQuoteDepth = 32
	// maxTableColumns bounds the columns of one table.
	maxTableColumns = 128
	// maxTableCells bounds columns × rows summed over all tables.
	maxTableCells = 100_000
	// maxDelimiterWork bounds the sum over inline runs of (delimiters in the run)², the shape of
	// goldmark's worst case; a README with a thousand links in one paragraph stays far below.
	maxDelimiterWork = 1 << 27
	// maxIndent bounds leading whitespace, which is how lists nest.
	maxIndent = 256
)

// tooComplex reports whether src has one of the shapes goldmark renders in super-linear time.
func tooComplex(src []byte) bool {
	var (
		work       int // Σ k² over finished runs
		run        int // delimiters in the current run of lines
		cells      int
		tableCols  int // columns of the table being read, 0 outside tables
		prevInText bool
		fence      []byte // the open code fence ("```", "~~~~"), nil outside code blocks
	)
	finishRun := func() {
		work += run * run
		run = 0
	}
	for len(src) > 0 {
		// Lines end at \n, \r\n or a lone \r, as in CommonMark.
		line := src
		if i := bytes.IndexAny(src, "\r\n"); i >= 0 {
			end := i + 1
			if src[i] == '\r' && end < len(src) && src[end] == '\n' {
				end++
			}
			line, src = src[:i], src[end:]
		} else {
			src = nil
		}

		indent := 0
		for indent < len(line) && (line[indent] == ' ' || line[indent] == '\t') {
			indent++
		}
		if indent > maxIndent || quoteDepth(line) > maxQuoteDepth {
			return true
		}

		// Fenced code is not parsed for inlines or tables.
		// The rules follow CommonMark closely: were this scan to see a fence that goldmark does
		// not, the lines it skips would be parsed unchecked.
		if f, rest := fenceMarker(line); f != nil {
			opens := fence == nil && (f[0] == '~' || bytes.IndexByte(rest, '`') < 0)
			closes := fence != nil && f[0] == fence[0] && len(f) >= len(fence) && len(bytes.TrimSpace(rest)) == 0
			if opens || closes {
				if opens {
					fence = f
				} else {
					fence = nil
				}
				finishRun()
				prevInText = false
				continue
			}
		}
		if fence != nil {
			continue
		}

		blank := indent == len(line)
		inTable := false
		switch {
		case blank:
			tableCols = 0
		case tableCols > 0:
			cells += tableCols
			inTable = true
		case bytes.IndexByte(line, '|') >= 0:
			if cols := delimiterRowColumns(line); cols > 0 {
				if cols > maxTableColumns {
					return true
				}
				tableCols = cols
				cells += 2 * cols // the header row and the delimiter row
				inTable = true
			}
		}
		if cells > maxTableCells {
			return true
		}

		// Table rows are parsed cell by cell; every other line joins its paragraph's inline run
		// (over-counting headings and the like is harmless, splitting a paragraph is not).
		if blank || inTable || !prevInText {
			finishRun()
		}
		run += delimiters(line)
		if inTable {
			finishRun()
		}
		prevInText = !blank && !inTable
		if work+run*run > maxDelimiterWork {
			return true
		}
	}
	finishRun()
	return work > maxDelimiterWork
}

// fenceMarker returns the run of three or more backticks or tildes that may open or close a
// fenced code block, and the rest of the line after it.
func fenceMarker(line []byte) (marker, rest []byte) {
	i := 0
	for i < 3 && i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) || (line[i] != '`' && line[i] != '~') {
		return nil, nil
	}
	j := i
	for j < len(line) && line[j] == line[i] {
		j++
	}
	if j-i < 3 {
		return nil, nil
	}
	return line[i:j], line[j:]
}

// quoteDepth counts the block quote markers opening a line.
func quoteDepth(line []byte) int {
	depth := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t':
		case '>':
			depth++
		default:
			return depth
		}
	}
	return depth
}

// delimiterRowColumns returns the column count when line is a GFM table delimiter row
// ("|:---|---:|"), else 0.
func delimiterRowColumns(line []byte) int {
	cols, dashes := 0, false
	for _, c := range line {
		switch c {
		case '-':
			if !dashes {
				cols++
				dashes = true
			}
		case '|':
			dashes = false
		case ':', ' ', '\t':
		default:
			return 0
		}
	}
	return cols
}

// delimiters counts the characters that may open or close emphasis, strikethrough or a link
// ("](" counts twice); an underscore inside a word (snake_case) can do neither.
func delimiters(line []byte) int {
	n := 0
	for i, c := range line {
		switch c {
		case '*', '[', '~':
			n++
		case '(':
			// A link destination that never closes costs more than its opener alone.
			if i > 0 && line[i-1] == ']' {
				n++
			}
		case '_':
			if i == 0 || i == len(line)-1 || !isAlnum(line[i-1]) || !isAlnum(line[i+1]) {
				n++
			}
		}
	}
	return n
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
