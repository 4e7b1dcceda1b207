// Package budget counts what agents and tasks use over time — calls of a
// tool, the sum of a numeric argument (an amount paid), the distinct
// destinations reached — in sliding windows, and reserves each use
// atomically, so that two calls racing for the last unit of a budget
// cannot both take it.
//
// The guard reserves what a decision says a call uses before the tool
// runs, and releases it when the call is denied later or fails before
// running. Memory keeps budgets for one process; package redisbudget keeps
// them in Redis or Valkey for an agent that runs as several replicas.
package budget
