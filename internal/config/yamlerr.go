package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yaml.v3 reports a wrong type or an unknown key with a line number and Go
// type names ("line 2: cannot unmarshal !!int `20` into time.Duration",
// "line 3: field lisen not found in type config.Server"). yamlProblems
// turns each into a FieldError naming the key's path, as Validate's
// problems do, and says what was wanted in the words of the config file.
// Values are never echoed (they may be secrets).

var (
	yamlLine     = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnmarsh  = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `[^`]*`)? into (.+)$")
	yamlNotFound = regexp.MustCompile(`^field (\S+) not found in type`)
)

// yamlProblems translates te's messages, finding each line's key in text.
func yamlProblems(text []byte, te *yaml.TypeError) problems {
	lines := map[int][]keyAt{}
	var root yaml.Node
	if yaml.Unmarshal(text, &root) == nil {
		keyPaths(&root, "", lines)
	}
	var p problems
	for _, msg := range te.Errors {
		m := yamlLine.FindStringSubmatch(msg)
		if m == nil {
			p = append(p, errors.New(msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		rest := m[2]
		var field string
		if nf := yamlNotFound.FindStringSubmatch(rest); nf != nil {
			field = pick(lines[line], nf[1], "")
		} else if u := yamlUnmarsh.FindStringSubmatch(rest); u != nil {
			field = pick(lines[line], "", "!!"+u[1])
		} else {
			field = pick(lines[line], "", "")
		}
		if field == "" {
			p = append(p, errors.New(msg))
			continue
		}
		field += " (line " + m[1] + ")"
		switch {
		case yamlNotFound.MatchString(rest):
			p.add(field, "unknown setting (octomesh.example.yaml lists them all)")
		case yamlUnmarsh.MatchString(rest):
			u := yamlUnmarsh.FindStringSubmatch(rest)
			p.add(field, "want %s, got %s", wantedKind(u[2]), yamlKind(u[1]))
		default:
			p.add(field, "%s", rest)
		}
	}
	return p
}

// keyAt is a key's path and the YAML tag of its value.
type keyAt struct{ path, tag string }

// pick chooses the key a message on a line is about: the one named key
// when the message names one, else the only one whose value has tag,
// else the only one, and otherwise all of them (a flow mapping puts
// several keys on one line).
func pick(keys []keyAt, key, tag string) string {
	if key != "" {
		for _, k := range keys {
			if k.path == key || strings.HasSuffix(k.path, "."+key) {
				return k.path
			}
		}
	}
	if tag != "" {
		var match []string
		for _, k := range keys {
			if k.tag == tag {
				match = append(match, k.path)
			}
		}
		if len(match) == 1 {
			return match[0]
		}
	}
	switch len(keys) {
	case 0:
		return ""
	case 1:
		return keys[0].path
	}
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = k.path
	}
	return "one of " + strings.Join(paths, ", ")
}

// keyPaths records, by line, the dotted path of every key and list item
// with the tag of its value.
func keyPaths(n *yaml.Node, prefix string, lines map[int][]keyAt) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keyPaths(c, prefix, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			lines[k.Line] = append(lines[k.Line], keyAt{path, v.ShortTag()})
			keyPaths(v, path, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			path := prefix + "[" + strconv.Itoa(i) + "]"
			lines[c.Line] = append(lines[c.Line], keyAt{path, c.ShortTag()})
			keyPaths(c, path, lines)
		}
	}
}

// wantedKind describes a Go type as a config file's value.
func wantedKind(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration such as 20ms, 1.5s or 1h30m"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case strings.HasPrefix(goType, "config."):
		return "a mapping"
	case goType == "bool":
		return "true or false"
	case goType == "string", goType == "octomesh.Secret":
		return "a string"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return goType
}

// yamlKind names a YAML tag.
func yamlKind(tag string) string {
	switch tag {
	case "int", "float":
		return "a number"
	case "str":
		return "a string"
	case "bool":
		return "true or false"
	case "map":
		return "a mapping"
	case "seq":
		return "a list"
	case "null":
		return "nothing"
	}
	return "!!" + tag
}
