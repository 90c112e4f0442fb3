package worker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// promqlFunctions are PromQL's functions and aggregation operators: an identifier followed by
// an opening parenthesis must be one of them.
func promqlFunctions() map[string]bool {
	names := map[string]bool{}
	for _, group := range []string{
		"sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio",
		"abs absent absent_over_time ceil changes clamp clamp_max clamp_min exp floor ln log2 log10 round sgn sqrt",
		"day_of_month day_of_week day_of_year days_in_month hour minute month year time timestamp",
		"delta deriv idelta increase irate rate resets predict_linear holt_winters double_exponential_smoothing",
		"histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum",
		"label_join label_replace scalar vector sort sort_desc sort_by_label sort_by_label_desc",
		"avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time",
		"stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time",
		"acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi",
	} {
		for _, n := range strings.Fields(group) {
			names[n] = true
		}
	}
	return names
}

// promqlKeywords are words that are not series names; the grouping ones take a parenthesised
// list of label names.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true, "inf": true, "nan": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func takesLabelList(keyword string) bool {
	switch keyword {
	case "by", "without", "on", "ignoring", "group_left", "group_right":
		return true
	}
	return false
}

// promqlMetricNames are the series names an expression selects, in order. It skips strings,
// label matchers ({...}), ranges ([...]), label lists after by/on/..., numbers and Grafana
// variables ($name, ${name}), and fails on a call to a function PromQL does not have.
func promqlMetricNames(expr string) ([]string, error) {
	functions := promqlFunctions()
	var names []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(expr, i)
		case c == '{':
			i = skipPast(expr, i, '}')
		case c == '[':
			i = skipPast(expr, i, ']')
		case c == '$':
			i = skipVariable(expr, i)
		case isDigit(c) || c == '.':
			i = skipNumber(expr, i)
		case isIdentStart(c):
			word, next := identAt(expr, i)
			i = next
			followedBy := nextNonSpace(expr, i)
			switch {
			case promqlKeywords[word]:
				if takesLabelList(word) && followedBy == '(' {
					i = skipPast(expr, i, ')')
				}
			case followedBy == '(' || groupsFirst(expr, i):
				if !functions[word] {
					return nil, fmt.Errorf("%q calls %s, which is no PromQL function", expr, word)
				}
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names, nil
}

// groupsFirst tells whether the word that ends at i is followed by a grouping clause, as
// an aggregation is in sum by (le) (...).
func groupsFirst(s string, i int) bool {
	for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
		i++
	}
	word, _ := identAt(s, i)
	return word == "by" || word == "without"
}

// skipString returns the index after the string literal that starts at i.
func skipString(s string, i int) int {
	quote := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case quote:
			return j + 1
		}
	}
	return len(s)
}

// skipPast returns the index after the first closing byte at or after i that is not in a string.
func skipPast(s string, i int, closing byte) int {
	for j := i + 1; j < len(s); {
		switch s[j] {
		case '"', '\'', '`':
			j = skipString(s, j)
		case closing:
			return j + 1
		default:
			j++
		}
	}
	return len(s)
}

func skipVariable(s string, i int) int {
	if i+1 < len(s) && s[i+1] == '{' {
		return skipPast(s, i+1, '}')
	}
	_, next := identAt(s, i+1)
	return next
}

// skipNumber skips a number or a duration (1.5, 0x1f, 1e3, 5m).
func skipNumber(s string, i int) int {
	for i < len(s) && (isIdentPart(s[i]) || s[i] == '.') {
		i++
	}
	return i
}

func identAt(s string, i int) (string, int) {
	j := i
	for j < len(s) && isIdentPart(s[j]) {
		j++
	}
	return s[i:j], j
}

func nextNonSpace(s string, i int) byte {
	for ; i < len(s); i++ {
		if !strings.ContainsRune(" \t\r\n", rune(s[i])) {
			return s[i]
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func TestPromQLMetricNames(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		want    []string
		wantErr string
	}{
		{
			name: "a histogram quantile, its matchers and range skipped",
			expr: `histogram_quantile(0.9, sum by (le, method) (rate(a_seconds_bucket{method="Create(x)", b=~"$nodepool"}[$__rate_interval])))`,
			want: []string{"a_seconds_bucket"},
		},
		{
			name: "bare names, binary operators, on and unless",
			expr: "up{job=~\".*w.*\"} == 1\nunless on (instance)\nsum by (instance) (rate(polls_total[5m])) > 0 and c",
			want: []string{"up", "polls_total", "c"},
		},
		{
			name: "aggregation with its grouping after, offsets and numbers",
			expr: `sum(x_total offset 1h) without (zone) / ignoring (a) group_left (b) y * 1.5e3 - time() + z{}`,
			want: []string{"x_total", "y", "z"},
		},
		{
			name: "Grafana variables are no names",
			expr: `max(g{nodepool=~"${nodepool}"}) * $scale`,
			want: []string{"g"},
		},
		{
			name:    "a misspelt function",
			expr:    `sum(rates(x[5m]))`,
			wantErr: "rates, which is no PromQL function",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := promqlMetricNames(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("names %q, want %q", got, tt.want)
			}
		})
	}
}
