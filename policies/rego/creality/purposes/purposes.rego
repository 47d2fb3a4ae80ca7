# METADATA
# scope: package
# title: Purposes — use limitation and the closed world of declared purposes (I.a, II.IV.2.e)
package creality.purposes

import rego.v1

import data.creality.vocab
import data.lib.findings.finding

# METADATA
# title: Personal data collected for no purpose
# description: >-
#   Section I data is collected "principalement pour faciliter l'utilisation des services": every field
#   must be collected for at least one declared purpose.
# custom:
#   clause: I.a
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Add the purposes the field serves under `purposes`, or stop collecting it.
field_without_purpose(inp) := [f |
	some field in inp.fields
	count(object.get(field, "purposes", [])) == 0
	f := finding("field", field.id, "id", sprintf("field %s is collected for no purpose", [field.id]))
]

# METADATA
# title: Data used for a purpose the policy does not declare, without prior consent
# description: >-
#   II.IV.2.e: "Nous vous demanderons votre consentement au préalable si vos informations sont utilisées
#   à d'autres fins non spécifiées". A flow whose purpose is not one the policy declares needs a real
#   consent (opt-in, separate or banner — not policy acceptance or a pre-ticked box) for that purpose.
# custom:
#   clause: II.IV.2.e
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Map the purpose to a purpose the policy declares (`policy_purpose`), or collect a prior opt-in consent
#     for it and cite it in the flow's `legal_basis.consent`.
undeclared_purpose_flow(inp) := [f |
	some flow in inp.flows
	not vocab.declared(flow.purpose_info)
	not flow_consented(flow)
	f := finding("flow", flow.id, "purpose", sprintf(
		"flow %s sends data to %s for purpose %s, which the policy does not declare, without prior consent",
		[flow.id, flow.to, flow.purpose],
	))
]

# METADATA
# title: Field collected for an undeclared purpose without prior consent
# description: >-
#   II.IV.2.e applies at collection too: a field whose purposes include one the policy does not declare
#   needs a real consent for that purpose.
# custom:
#   clause: II.IV.2.e
#   severity: error
#   verdict: omitted
#   remediation: >-
#     Map the purpose to a declared policy purpose, or collect a prior opt-in consent for it.
undeclared_purpose_field(inp) := [f |
	some field in inp.fields
	infos := object.get(field, "purposes_info", [])
	some i
	p := infos[i]
	not vocab.declared(p)
	not vocab.consented(p.consents, p.id)
	f := finding("field", field.id, sprintf("purposes.%d", [i]), sprintf(
		"field %s is collected for purpose %s, which the policy does not declare, without prior consent",
		[field.id, p.id],
	))
]

flow_consented(flow) if {
	flow.consent_info.purpose == flow.purpose
	flow.consent_info.mechanism in vocab.valid_mechanisms
}
