"""The Mini App's pact screens (spec §9) and their htmx fragments, a module per screen.

Each view wears `habitpact.screens.screen` (sign-in, rate limit, the viewer's zone),
calls the domain (pacts.actions and the PactDay transitions) and renders one template:
the whole page, its `content` partial (for htmx navigation), or the fragment an action
changed. Rules live in the domain; buttons appear when the model's `can_*` predicate
says the action would succeed, and a refusal comes back as the DomainError's message,
inline.
"""
