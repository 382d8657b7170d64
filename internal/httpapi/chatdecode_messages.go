package httpapi

import (
	"github.com/octomesh/octomesh"
)

// The fast chat decoder's messages, content parts, tools and tool choice.
// Arrays are read into a scratch array on the stack and copied out once, so
// a short list costs one allocation rather than append's several.

func (r *jsonReader) messages(dst *[]octomesh.Message) bool {
	if r.null() {
		*dst = nil
		return true
	}
	empty, ok := r.openArray()
	if !ok {
		return false
	}
	var scratch [8]octomesh.Message
	list := scratch[:0]
	for more := !empty; more; {
		list = append(list, octomesh.Message{})
		if !r.message(&list[len(list)-1]) {
			return false
		}
		if more, ok = r.next(']'); !ok {
			return false
		}
	}
	if n := len(list); n > 0 && n <= len(chatRoom{}.msgs) {
		if room := r.getRoom(); !room.usedMsgs {
			room.usedMsgs = true
			*dst = room.msgs[:n:n] // capped: an append copies rather than writing past it
			copy(*dst, list)
			return true
		}
	}
	*dst = append(make([]octomesh.Message, 0, len(list)), list...)
	return true
}

func (r *jsonReader) message(m *octomesh.Message) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "role":
			ok = seen.add(0) && readName(r, &m.Role)
		case "content":
			ok = seen.add(1) && r.content(&m.Content)
		case "name":
			ok = seen.add(2) && readText(r, &m.Name)
		case "tool_calls":
			ok = seen.add(3) && r.toolCalls(&m.ToolCalls)
		case "tool_call_id":
			ok = seen.add(4) && readText(r, &m.ToolCallID)
		case "refusal":
			ok = seen.add(5) && readText(r, &m.Refusal)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

// content reads Content as its UnmarshalJSON does: null, a string, or an
// array of parts, which it decodes with json.Unmarshal, so without the
// strict decoder's ban on unknown fields.
func (r *jsonReader) content(c *octomesh.Content) bool {
	r.ws()
	switch r.peek() {
	case 'n':
		*c = octomesh.Content{}
		return r.literal("null")
	case '"':
		b, ok := r.str()
		if room := r.getRoom(); room.nparts < len(room.parts) {
			// octomesh.TextContent, its part in the room.
			i := room.nparts
			room.nparts++
			room.parts[i] = octomesh.Part{Type: octomesh.PartText}
			if ok && !r.deferText(&room.parts[i].Text, b) {
				room.parts[i].Text = string(b)
			}
			*c = octomesh.Content{Parts: room.parts[i : i+1 : i+1]}
			return ok
		}
		*c = octomesh.TextContent(string(b))
		return ok
	case '[':
		empty, _ := r.openArray()
		var scratch [4]octomesh.Part
		list := scratch[:0]
		for more := !empty; more; {
			var ok bool
			list = append(list, octomesh.Part{})
			if !r.part(&list[len(list)-1]) {
				return false
			}
			if more, ok = r.next(']'); !ok {
				return false
			}
		}
		*c = octomesh.Content{Parts: append(make([]octomesh.Part, 0, len(list)), list...), Array: true}
		return true
	}
	return false
}

// part reads a content part; unknown fields are skipped (see content).
func (r *jsonReader) part(p *octomesh.Part) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "type":
			ok = seen.add(0) && readName(r, &p.Type)
		case "text":
			ok = seen.add(1) && readText(r, &p.Text)
		case "image_url":
			ok = seen.add(2) && r.imageURL(&p.ImageURL)
		default:
			ok = r.skip(0)
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

// imageURL reads a part's image; unknown fields are skipped (see content).
func (r *jsonReader) imageURL(dst **octomesh.ImageURL) bool {
	if r.null() {
		*dst = nil
		return true
	}
	u := new(octomesh.ImageURL)
	*dst = u
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "url":
			ok = seen.add(0) && readText(r, &u.URL)
		case "detail":
			ok = seen.add(1) && readName(r, &u.Detail)
		default:
			ok = r.skip(0)
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) toolCalls(dst *[]octomesh.ToolCall) bool {
	if r.null() {
		*dst = nil
		return true
	}
	empty, ok := r.openArray()
	if !ok {
		return false
	}
	var scratch [4]octomesh.ToolCall
	list := scratch[:0]
	for more := !empty; more; {
		list = append(list, octomesh.ToolCall{})
		if !r.toolCall(&list[len(list)-1]) {
			return false
		}
		if more, ok = r.next(']'); !ok {
			return false
		}
	}
	*dst = append(make([]octomesh.ToolCall, 0, len(list)), list...)
	return true
}

func (r *jsonReader) toolCall(tc *octomesh.ToolCall) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "index":
			ok = seen.add(0) && r.intPtr(&tc.Index)
		case "id":
			ok = seen.add(1) && readText(r, &tc.ID)
		case "type":
			ok = seen.add(2) && readName(r, &tc.Type)
		case "function":
			ok = seen.add(3) && r.functionCall(&tc.Function)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) functionCall(f *octomesh.FunctionCall) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "name":
			ok = seen.add(0) && readText(r, &f.Name)
		case "arguments":
			ok = seen.add(1) && readText(r, &f.Arguments)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) tools(dst *[]octomesh.Tool) bool {
	if r.null() {
		*dst = nil
		return true
	}
	empty, ok := r.openArray()
	if !ok {
		return false
	}
	var scratch [8]octomesh.Tool
	list := scratch[:0]
	for more := !empty; more; {
		list = append(list, octomesh.Tool{})
		if !r.tool(&list[len(list)-1]) {
			return false
		}
		if more, ok = r.next(']'); !ok {
			return false
		}
	}
	*dst = append(make([]octomesh.Tool, 0, len(list)), list...)
	return true
}

func (r *jsonReader) tool(t *octomesh.Tool) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "type":
			ok = seen.add(0) && readName(r, &t.Type)
		case "function":
			ok = seen.add(1) && r.functionDef(&t.Function)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

func (r *jsonReader) functionDef(f *octomesh.FunctionDef) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "name":
			ok = seen.add(0) && readText(r, &f.Name)
		case "description":
			ok = seen.add(1) && readText(r, &f.Description)
		case "parameters":
			ok = seen.add(2) && r.rawInto(&f.Parameters)
		case "strict":
			ok = seen.add(3) && r.boolPtr(&f.Strict)
		default:
			ok = false
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}

// toolChoice reads ToolChoice as its UnmarshalJSON does: a mode, or
// {"type":"function","function":{"name":...}} decoded with json.Unmarshal
// (unknown fields skipped). null is encoding/json's: the pointer is nil.
func (r *jsonReader) toolChoice(dst **octomesh.ToolChoice) bool {
	r.ws()
	switch r.peek() {
	case 'n':
		*dst = nil
		return r.literal("null")
	case '"':
		b, ok := r.str()
		if !ok {
			return false
		}
		switch string(b) {
		case octomesh.ToolChoiceAuto:
			*dst = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceAuto}
		case octomesh.ToolChoiceNone:
			*dst = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceNone}
		case octomesh.ToolChoiceRequired:
			*dst = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceRequired}
		default:
			return false
		}
		return true
	case '{':
		var typ, name string
		empty, _ := r.openObject()
		var seen fieldSet
		var fold [32]byte
		for more := !empty; more; {
			k, ok := r.key(&fold)
			if !ok {
				return false
			}
			switch string(k) {
			case "type":
				ok = seen.add(0) && readName(r, &typ)
			case "function":
				ok = seen.add(1) && r.toolChoiceFunction(&name)
			default:
				ok = r.skip(0)
			}
			if !ok {
				return false
			}
			if more, ok = r.next('}'); !ok {
				return false
			}
		}
		if typ != octomesh.ToolChoiceFunction || name == "" {
			return false
		}
		*dst = &octomesh.ToolChoice{Mode: octomesh.ToolChoiceFunction, Function: name}
		return true
	}
	return false
}

// toolChoiceFunction reads tool_choice's {"name":...}; unknown fields are
// skipped.
func (r *jsonReader) toolChoiceFunction(name *string) bool {
	if r.null() {
		return true
	}
	empty, ok := r.openObject()
	if !ok {
		return false
	}
	var seen fieldSet
	var fold [32]byte
	for more := !empty; more; {
		k, ok := r.key(&fold)
		if !ok {
			return false
		}
		switch string(k) {
		case "name":
			ok = seen.add(0) && readText(r, name)
		default:
			ok = r.skip(0)
		}
		if !ok {
			return false
		}
		if more, ok = r.next('}'); !ok {
			return false
		}
	}
	return true
}
