#!/usr/bin/env bash
# End-to-end check of the images and the Helm chart on a throwaway kind cluster. Opt-in: `make test`
# does not run it. Needs a running Docker daemon, kind, kubectl and helm 3 on PATH.
#
#   scripts/kind-e2e.sh                      # create, test, delete the cluster
#   KEEP_CLUSTER=1 scripts/kind-e2e.sh       # leave the cluster for inspection
#
# Steps: create a kind cluster, build both images, load them into the cluster, run the simulator
# (`floor sim`, momentum pattern) as a Pod behind a Service, helm install the chart (in-chart PostgreSQL
# and Redis, the market pointed at the simulator, the end-to-end policy of tests/e2e/values-e2e.yaml),
# apply examples/ and tests/e2e/manifests/, wait for one Pod per agent, delete an agent Pod and wait for
# the Floor Boss to recreate it, then run the same kubectl-only checks as the emulated-cluster test
# (tests/e2e/assertions.py: collectors, trades, a SIGKILLed agent restarted, a clone, a retirement,
# printer columns) and print the floor. The cluster is deleted on exit, pass or fail.
#
# The checks run with the repository's Python (E2E_PYTHON, default .venv/bin/python: `make install`).
set -euo pipefail

CLUSTER="${CLUSTER:-trading-floor-e2e}"
NAMESPACE="${NAMESPACE:-trading-floor}"
RELEASE="${RELEASE:-trading-floor}"
TAG="${TAG:-e2e}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-300}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
HELM="${HELM:-helm}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OPERATOR_IMAGE="trading-floor-operator:${TAG}"
AGENT_IMAGE="trading-floor-agent:${TAG}"
KILL_AGENT="momentum-btc"
E2E_PYTHON="${E2E_PYTHON:-$REPO_ROOT/.venv/bin/python}"
CHECK_SECONDS="${CHECK_SECONDS:-600}"
# The release name contains the chart name, so the operator Deployment is <release>-operator.
OPERATOR_DEPLOYMENT="${RELEASE}-operator"
[[ "$RELEASE" == *trading-floor* ]] || OPERATOR_DEPLOYMENT="${RELEASE}-trading-floor-operator"

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'kind-e2e: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not on PATH"; }

for tool in docker kind kubectl "$HELM"; do need "$tool"; done
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (docker info failed)"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  die "a kind cluster named $CLUSTER already exists; delete it or set CLUSTER=<another name>"
fi

cleanup() {
  local rc=$?
  trap - EXIT
  if [[ $rc -ne 0 ]]; then
    log "FAILED (exit $rc); state of namespace $NAMESPACE:"
    kubectl -n "$NAMESPACE" get pods,traderagents,auditors,monitors -o wide || true
    kubectl -n "$NAMESPACE" logs "deploy/$OPERATOR_DEPLOYMENT" --tail=100 || true
    kubectl -n "$NAMESPACE" get events --sort-by=.lastTimestamp | tail -40 || true
  fi
  if [[ "$KEEP_CLUSTER" == "1" ]]; then
    log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
  else
    log "deleting cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" || true
  fi
  exit "$rc"
}

# uid of the Ready Pod of an agent, or nothing.
ready_pod_uid() {
  kubectl -n "$NAMESPACE" get pods -l "tradingfloor.dev/agent=$1" -o \
    jsonpath='{range .items[*]}{.metadata.uid}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' \
    | awk '$2 == "True" && NF == 2 { print $1; exit }'
}

# Wait until the agent has a Ready Pod whose uid differs from $2 (if given); print that uid.
wait_for_agent_pod() {
  local agent="$1" not_uid="${2:-}" deadline=$((SECONDS + TIMEOUT_SECONDS)) uid
  while (( SECONDS < deadline )); do
    uid="$(ready_pod_uid "$agent" || true)"  # a transient API error is retried, not fatal
    if [[ -n "$uid" && "$uid" != "$not_uid" ]]; then
      printf '%s\n' "$uid"
      return 0
    fi
    sleep 2
  done
  die "no Ready Pod for agent $agent after ${TIMEOUT_SECONDS}s"
}

trap cleanup EXIT

log "creating kind cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --wait 120s
kubectl config use-context "kind-$CLUSTER"

log "building $OPERATOR_IMAGE and $AGENT_IMAGE"
docker build -f "$REPO_ROOT/Dockerfile.operator" -t "$OPERATOR_IMAGE" "$REPO_ROOT"
docker build -f "$REPO_ROOT/Dockerfile.agent" -t "$AGENT_IMAGE" "$REPO_ROOT"

log "loading the images into the cluster"
kind load docker-image "$OPERATOR_IMAGE" --name "$CLUSTER"
kind load docker-image "$AGENT_IMAGE" --name "$CLUSTER"

log "the simulator (floor sim, momentum pattern) as a Pod behind a Service"
kubectl create namespace "$NAMESPACE"
kubectl -n "$NAMESPACE" run sim --image "$AGENT_IMAGE" --image-pull-policy Never --port 8765 \
  --command -- floor sim --host 0.0.0.0 --port 8765 --pattern momentum --speed 150 --seed 2
kubectl -n "$NAMESPACE" expose pod sim --port 8765
market_values="$(mktemp)"
cat > "$market_values" <<EOF
market:
  gammaUrl: "http://sim:8765"
  clobUrl: "http://sim:8765"
  wsUrl: "ws://sim:8765/ws/market"
  spotWsUrl: "ws://sim:8765/ws/spot"
EOF

log "helm install $RELEASE into namespace $NAMESPACE"
"$HELM" install "$RELEASE" "$REPO_ROOT/charts/trading-floor" \
  --namespace "$NAMESPACE" \
  -f "$REPO_ROOT/tests/e2e/values-e2e.yaml" -f "$market_values" \
  --set image.repository=trading-floor-operator --set "image.tag=$TAG" --set image.pullPolicy=Never \
  --set agents.image.repository=trading-floor-agent --set "agents.image.tag=$TAG" \
  --set postgresql.persistence.size=1Gi \
  --wait --timeout "${TIMEOUT_SECONDS}s"
kubectl -n "$NAMESPACE" rollout status "deployment/$OPERATOR_DEPLOYMENT" --timeout "${TIMEOUT_SECONDS}s"

log "applying examples/ and tests/e2e/manifests/"
kubectl -n "$NAMESPACE" apply -f "$REPO_ROOT/examples/"
kubectl -n "$NAMESPACE" apply -f "$REPO_ROOT/tests/e2e/manifests/"

log "waiting for one Ready Pod per agent"
for manifest in "$REPO_ROOT"/examples/*.yaml; do
  agent="$(awk '/^metadata:/ { m = 1; next } m && /^  name:/ { print $2; exit }' "$manifest")"
  [[ -n "$agent" ]] || die "no metadata.name in $manifest"
  uid="$(wait_for_agent_pod "$agent")"  # an assignment, so a timeout stops the script (set -e)
  printf '%-24s pod uid %s\n' "$agent" "$uid"
done

log "killing the Pod of $KILL_AGENT; the Floor Boss must recreate it"
old_uid="$(ready_pod_uid "$KILL_AGENT")"
[[ -n "$old_uid" ]] || die "agent $KILL_AGENT has no Ready Pod to kill"
kubectl -n "$NAMESPACE" delete pod -l "tradingfloor.dev/agent=$KILL_AGENT" --wait=true
new_uid="$(wait_for_agent_pod "$KILL_AGENT" "$old_uid")"
printf '%s came back: pod uid %s -> %s\n' "$KILL_AGENT" "$old_uid" "$new_uid"

log "the end-to-end checks (tests/e2e/assertions.py, kubectl only)"
(cd "$REPO_ROOT" && "$E2E_PYTHON" -m tests.e2e.assertions --namespace "$NAMESPACE" --kubectl kubectl \
  --kill "kind:${CLUSTER}-control-plane" --timeout "$CHECK_SECONDS")

log "the floor"
kubectl -n "$NAMESPACE" get traderagents
kubectl -n "$NAMESPACE" get auditors,monitors
kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/name=trading-floor-agent -o wide

log "helm uninstall $RELEASE: the collector Pods go with the operator's Deployment (their owner)"
"$HELM" uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout "${TIMEOUT_SECONDS}s"
(cd "$REPO_ROOT" && "$E2E_PYTHON" -m tests.e2e.assertions --namespace "$NAMESPACE" --kubectl kubectl \
  --kill "kind:${CLUSTER}-control-plane" --timeout 120 --after-uninstall)

log "PASSED"
