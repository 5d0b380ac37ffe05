// Package bench is Bollard's benchmark suite (issue 7). It measures, against
// the real test cluster (bin/testcluster), a real HAProxy and echo pods, the
// figures of DESIGN.md §5:
//
//	P1   EndpointSlice write → first request served by the new endpoint
//	P2a  new Ingress host → an existing backend (runtime map update)
//	P2b  new Ingress host → a new Service (validated reload), at 100 and 10k
//	P3   start → first config applied at 10k Ingresses, RSS, model + render
//	P4   failed requests under endpoint churn and reloads
//	P5   throughput of the generated config vs a hand-written one (wrk)
//	P6   reloads during pure endpoint changes
//	P7   route policy value changed → in effect (map update, no reload)
//
// P1 (with the controller's model time and CPU per endpoint change), P2a
// and P6 run at both sizes, ~140 Ingresses and the scale phase's 10k; the
// table "Issue 16" puts them side by side.
//
// Every HAProxy it runs is $HAPROXY_BIN (else the haproxy on PATH). The
// table "P2b by HAProxy version" adds P2b at both sizes with each HAProxy
// of -bench.p2b-versions ($BENCH_P2B_VERSIONS), each with controllers of
// its own against the same objects, with HAProxy's RSS at scale.
//
// `make bench` runs TestBench with -bench.full and prints one summary table;
// `make test` runs the same code with tiny sizes (the smoke mode), which
// asserts only that every measurement produced numbers and the invariants
// (no reload for pure endpoint changes or policy value changes), never a
// timing target.
//
// All traffic goes to 127.0.0.0/8 and to the pods of the benchmark's own test
// cluster (198.18.2.0/24). Every load loop is bounded in count and in time.
package bench
