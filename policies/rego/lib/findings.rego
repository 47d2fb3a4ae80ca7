# METADATA
# scope: package
# title: Helpers shared by every policy pack
# description: Finding constructors. Rules build findings as array comprehensions (linear on regopy).
package lib.findings

import rego.v1

# finding(kind, id, attribute, message): a finding about entity `kind`/`id`, located at the
# YAML node `attribute` (a dotted path inside the entity; "" for the entity itself).
finding(kind, id, attribute, message) := {
	"subject": {"kind": kind, "id": id},
	"attribute": attribute,
	"message": message,
}

# with_key adds a disambiguation key (e.g. the recipient of a lineage finding) to the fingerprint.
with_key(f, key) := object.union(f, {"key": key})

# with_evidence adds the lineage path (list of node ids) a finding is about.
with_evidence(f, path) := object.union(f, {"evidence": path})
