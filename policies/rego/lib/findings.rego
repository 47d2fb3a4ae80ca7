# METADATA
# scope: package
# title: Helpers shared by every policy pack
# description: Finding constructors. Rules build findings as array comprehensions (linear on regopy).
package lib.findings

import rego.v1

# finding(kind, id, attribute, message): a finding about entity `kind`/`id`, located at the
# YAML node `attribute` (a dotted path inside the entity; "" for the entity itself). `message` is
# a msg(...) (below), or a plain English string for a message without variable parts.
finding(kind, id, attribute, message) := {
	"subject": {"kind": kind, "id": id},
	"attribute": attribute,
	"message": message,
} if {
	is_string(message)
} else := {
	"subject": {"kind": kind, "id": id},
	"attribute": attribute,
	"fmt": message.fmt,
	"args": message.args,
}

# msg(fmt, args): a message as its English format and arguments (verbs %s, %d, %v; an argument may itself
# be a msg(...), a phrase translated on its own, or a joined(...) list; a null argument, a fact absent from
# the inventory, prints as "(not stated)", an object or an array as compact JSON). auditor renders it: in English as
# sprintf(fmt, args) prints it, in another language from the pack's catalogue (policies/locale/<lang>.po,
# msgid = fmt; docs: README "Writing rules"). Nothing is printed here: rendering a message in Rego cost the
# embedded engine more than the rest of a finding (docs/performance.md, session 7). Use msg, never sprintf
# or concat, for any English text a finding shows; text(m) below is what auditor prints.
msg(fmt, args) := {"fmt": fmt, "args": args}

# text(m): the English text of a msg(...), a joined(...) list or a finding, as auditor prints it
# (sprintf of the format with each argument's own text), for tests and for keys made of a message.
# Phrases nest up to four levels deep (Rego has no recursion).
text(m) := m if is_string(m)

else := m.message if {
	is_object(m)
	is_string(object.get(m, "message", null))
}

else := _text3(m)

_text3(a) := sprintf(a.fmt, [_text2(x) | some x in a.args]) if _is_msg(a)

else := concat(a.join, [_text2(x) | some x in a.items]) if _is_list(a)

else := _value(a)

_text2(a) := sprintf(a.fmt, [_text1(x) | some x in a.args]) if _is_msg(a)

else := concat(a.join, [_text1(x) | some x in a.items]) if _is_list(a)

else := _value(a)

_text1(a) := sprintf(a.fmt, [_text0(x) | some x in a.args]) if _is_msg(a)

else := concat(a.join, [_text0(x) | some x in a.items]) if _is_list(a)

else := _value(a)

_text0(a) := sprintf(a.fmt, [_value(x) | some x in a.args]) if _is_msg(a)

else := concat(a.join, [_value(x) | some x in a.items]) if _is_list(a)

else := _value(a)

# An argument that is a plain value: null (a fact absent from the inventory) prints as "(not stated)", an
# object or an array as compact JSON.
_value(a) := "(not stated)" if a == null

else := json.marshal(a) if is_object(a)

else := json.marshal(a) if is_array(a)

else := a

_is_msg(a) if {
	is_object(a)
	is_string(a.fmt)
}

_is_list(a) if {
	is_object(a)
	is_string(a.join)
}

# and_join(phrases): msg(...) phrases joined by "and", as concat(" and ", texts) would: one to three as a phrase
# of their own (French words three as "a, b et c"), more as a joined list (never one dropped).
and_join(ps) := ps[0] if count(ps) == 1

else := msg("%s and %s", [ps[0], ps[1]]) if count(ps) == 2

else := msg("%s and %s and %s", [ps[0], ps[1], ps[2]]) if count(ps) == 3

else := joined(" and ", ps)

# joined(sep, items): msg(...) phrases (or plain values) joined by sep, as concat(sep, texts) would print them; each
# item is translated on its own and the separator as a value (msgctxt "value"), for lists of any length.
# Like msg, it is rendered by auditor (text(j) here).
joined(sep, items) := {"join": sep, "items": items}

# with_key adds a disambiguation key (e.g. the recipient of a lineage finding) to the fingerprint.
with_key(f, key) := object.union(f, {"key": key})

# with_evidence adds the lineage path (list of node ids) a finding is about.
with_evidence(f, path) := object.union(f, {"evidence": path})
