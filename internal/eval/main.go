// Command eval replays scripted agent conversations through the real guard
// and the embedded default policy, and prints how many benign tasks an
// agent completes and how many injected attacks the policy stops, with no
// human in the loop and with a human who approves everything:
//
//	go run ./internal/eval
//
// Each domain (see domains) is one agent deployment: an in-process dev
// identity, in-memory fake tools declared as a deployer would declare them
// from their descriptions, and policy data written from the tools and the
// users' prompts, never from the attacks. Every task and every attack is a fresh conversation: the user's
// prompt is trusted (toolguard.Provenance), and a script of tool calls
// follows, each taking values from the prompt and from earlier results as a
// model would copy them — the way the public prompt-injection benchmarks
// (AgentDojo, https://github.com/ethz-spylab/agentdojo) replay the
// ground-truth calls of user tasks and of injection tasks. No model and no
// network are involved.
//
// The attacks follow the classes those benchmarks use: exfiltrate data to an
// attacker's address, pay an attacker's account, post a phishing link,
// change a password or a forwarding rule, delete data, forward a security
// code, write to an attacker at a contact's own e-mail domain, and reuse a
// trusted recipient with attacker-written content. Each is marked with
// whether its harmful call targets a value first seen in untrusted content.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

// domains are the deployments evaluated, in report order.
func domains() []evaluator {
	return []evaluator{mailDomain(), bankDomain(), chatDomain(), filesDomain(), travelDomain()}
}

// evaluate runs every domain in every mode.
func evaluate(ctx context.Context) (report, error) {
	var rep report
	for _, m := range modes {
		mr := modeResult{mode: m, runs: map[string][]runResult{}}
		for _, d := range domains() {
			rs, err := d.evaluate(ctx, m)
			if err != nil {
				return report{}, err
			}
			mr.domains = append(mr.domains, d.domainName())
			mr.runs[d.domainName()] = rs
		}
		rep.modes = append(rep.modes, mr)
	}
	return rep, nil
}

func main() {
	verbose := flag.Bool("v", false, "also list every call of every conversation, with its reason codes")
	flag.Parse()
	rep, err := evaluate(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
	rep.write(os.Stdout)
	if *verbose {
		rep.writeCalls(os.Stdout)
	}
}
