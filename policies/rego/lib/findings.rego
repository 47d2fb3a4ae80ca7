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
	"message": message.text,
	"fmt": message.fmt,
	"args": message.args,
}

# msg(fmt, args): a message as sprintf(fmt, args) prints it in English ("text"), with the format and
# the arguments kept, so that reports render it in another language from the pack's catalogue
# (policies/locale/<lang>.po, msgid = fmt; docs: README "Writing rules"). Verbs: %s, %d, %v.
# An argument may itself be a msg(...), a phrase translated on its own. Use msg, never sprintf or
# concat, for any English text a finding shows (lists of phrases: joined below). String arguments are
# copied (trim) before sprintf, as vocab.t does.
msg(fmt, args) := {"text": sprintf(fmt, [text_of(a) | some a in args]), "fmt": fmt, "args": args}

text_of(a) := a.text if is_object(a)

else := trim(a, "") if is_string(a)

else := a

# and_join(phrases): msg(...) phrases joined by "and", as concat(" and ", texts) would: one to three as a phrase
# of their own (French words three as "a, b et c"), more as a joined list (never one dropped).
and_join(ps) := ps[0] if count(ps) == 1

else := msg("%s and %s", [ps[0], ps[1]]) if count(ps) == 2

else := msg("%s and %s and %s", [ps[0], ps[1], ps[2]]) if count(ps) == 3

else := joined(" and ", ps)

# joined(sep, items): msg(...) phrases (or plain values) joined by sep, as concat(sep, texts) would print them; each
# item is translated on its own and the separator as a value (msgctxt "value"), for lists of any length.
joined(sep, items) := {"text": concat(sep, [text_of(i) | some i in items]), "join": sep, "items": items}

# with_key adds a disambiguation key (e.g. the recipient of a lineage finding) to the fingerprint.
with_key(f, key) := object.union(f, {"key": key})

# with_evidence adds the lineage path (list of node ids) a finding is about.
with_evidence(f, path) := object.union(f, {"evidence": path})
