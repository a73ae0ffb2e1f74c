"""Custom search attributes that let operators find PRs in the Temporal UI and CLI."""

from temporalio.common import SearchAttributeKey

MENDER_STATE = SearchAttributeKey.for_keyword("MenderState")
MENDER_REPO = SearchAttributeKey.for_keyword("MenderRepo")
MENDER_LAST_EVENT_AT = SearchAttributeKey.for_datetime("MenderLastEventAt")
MENDER_NEEDS_HUMAN = SearchAttributeKey.for_bool("MenderNeedsHuman")

SEARCH_ATTRIBUTES = (MENDER_STATE, MENDER_REPO, MENDER_LAST_EVENT_AT, MENDER_NEEDS_HUMAN)
UNTRACKED = "UNTRACKED"
