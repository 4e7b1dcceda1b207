# Decision reuse (authz.WithDecisionCache). A decision may be reused for the
# same input only when it is marked here; the engine also never reuses a
# denial or a decision that needs approval, keys on the whole input, drops
# entries with the policy revision, and stops at task expiry.
#
# Only reads are reused: they change nothing, and the input they are keyed
# on (subject, task, arguments, destinations, taint...) is everything these
# rules look at. The one clock this policy reads is input.time against
# input.task.expires_at, a bound the cache enforces by itself.
package ztagent

default cache := {"ttl_seconds": 0}

cache := {"ttl_seconds": cache_ttl_seconds} if {
	allow
	tool_effect == "read"
	not approval.required
	count(budgets) == 0 # each use of a budget must be reserved
}

# Short by default: a grant removed from data takes effect at the next
# reload anyway (a new revision empties the cache), but data read from
# elsewhere would not.
cache_ttl_seconds := data.decision_cache_ttl_seconds if {
	is_number(data.decision_cache_ttl_seconds)
} else := 5
