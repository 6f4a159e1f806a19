package metadata

// maxNesting bounds how deeply brackets, strings and template sequences may nest in a file
// handed to the HCL parsers. Both parsers recurse once per level, and a goroutine that exhausts
// its stack kills the whole process (it cannot be recovered), so a 1 MiB file of "[[[[..." would
// take the server down. Real configurations stay far below this.
const maxNesting = 100

// nestingExceeds reports whether src nests deeper than limit. It follows HCL's lexical rules
// (comments, quoted templates with ${ and %{ sequences, heredocs) without recursing, so that
// brackets inside strings and comments are neither counted nor able to hide real nesting.
// JSON files pass through the same rules; the count is then a safe over-estimate.
func nestingExceeds(src []byte, limit int) bool {
	type frame struct {
		kind   byte   // '(' for brackets, '"' quoted template, '<' heredoc, '$' template sequence
		marker string // heredoc closing marker
	}
	var stack []frame
	push := func(f frame) bool {
		stack = append(stack, f)
		return len(stack) > limit
	}
	top := func() byte {
		if len(stack) == 0 {
			return 0
		}
		return stack[len(stack)-1].kind
	}
	lineStart := true
	for i := 0; i < len(src); {
		c := src[i]
		var next byte
		if i+1 < len(src) {
			next = src[i+1]
		}
		switch top() {
		case '"':
			switch {
			case c == '\\':
				i += 2
			case c == '"' || c == '\n':
				stack = stack[:len(stack)-1]
				i++
			case (c == '$' || c == '%') && next == c && i+2 < len(src) && src[i+2] == '{':
				i += 3
			case (c == '$' || c == '%') && next == '{':
				if push(frame{kind: '$'}) {
					return true
				}
				i += 2
			default:
				i++
			}
			continue
		case '<':
			if lineStart {
				end := i
				for end < len(src) && src[end] != '\n' {
					end++
				}
				if trimSpace(src[i:end]) == stack[len(stack)-1].marker {
					stack = stack[:len(stack)-1]
					i = end
					lineStart = false
					continue
				}
			}
			lineStart = false
			switch {
			case c == '\n':
				lineStart = true
				i++
			case (c == '$' || c == '%') && next == c && i+2 < len(src) && src[i+2] == '{':
				i += 3
			case (c == '$' || c == '%') && next == '{':
				if push(frame{kind: '$'}) {
					return true
				}
				i += 2
			default:
				i++
			}
			continue
		}

		// Expression context: the top level, brackets, or inside ${ }.
		switch {
		case c == '#' || (c == '/' && next == '/'):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && next == '*':
			i += 2
			for i < len(src) && !(src[i] == '*' && i+1 < len(src) && src[i+1] == '/') {
				i++
			}
			i += 2
		case c == '"':
			if push(frame{kind: '"'}) {
				return true
			}
			i++
		case c == '<' && next == '<':
			if marker, body, ok := heredocStart(src, i); ok {
				if push(frame{kind: '<', marker: marker}) {
					return true
				}
				i = body
				lineStart = true
				continue
			}
			i += 2
		case c == '{' || c == '[' || c == '(':
			if push(frame{kind: '('}) {
				return true
			}
			i++
		case c == '}' || c == ']' || c == ')':
			// Closes a bracket or a template sequence; a stray closer at the top level is the
			// parser's problem, not a nesting one.
			if k := top(); k == '(' || k == '$' {
				stack = stack[:len(stack)-1]
			}
			i++
		default:
			i++
		}
	}
	return false
}

// heredocStart recognises <<MARKER or <<-MARKER followed by a newline at src[i] and returns the
// marker and the offset of the body.
func heredocStart(src []byte, i int) (string, int, bool) {
	k := i + 2
	if k < len(src) && src[k] == '-' {
		k++
	}
	if k >= len(src) || !isIdentStart(src[k]) {
		return "", 0, false
	}
	m := k + 1
	for m < len(src) && isIdentPart(src[m]) {
		m++
	}
	n := m
	if n < len(src) && src[n] == '\r' {
		n++
	}
	if n >= len(src) || src[n] != '\n' {
		return "", 0, false
	}
	return string(src[k:m]), n + 1, true
}

func trimSpace(b []byte) string {
	start, end := 0, len(b)
	for start < end && (b[start] == ' ' || b[start] == '\t' || b[start] == '\r') {
		start++
	}
	for end > start && (b[end-1] == ' ' || b[end-1] == '\t' || b[end-1] == '\r') {
		end--
	}
	return string(b[start:end])
}
