#!/usr/bin/env bash
# What tests/test_manifests.py validates deploy/k8s with, offline, into tools/k8s (gitignored);
# run by `make k8s-tools`. Everything comes from the package registries, pinned here:
#   bin/kubeconform, bin/kustomize   Go modules (go install)
#   schemas/kubernetes/              Kubernetes' JSON schemas, from the PyPI package
#                                    kubernetes-validate (its "-local-strict" flavour, with the
#                                    references made relative so kubeconform resolves them on disk)
#   schemas/crds/                    JSON schemas of the custom resources, converted from the
#                                    CustomResourceDefinitions by kubeconform's own
#                                    scripts/openapi2jsonschema.py (in its Go module):
#     Strimzi (Kafka, KafkaNodePool, KafkaTopic, KafkaUser): written by Strimzi's CRD generator
#       (Maven: io.strimzi:crd-generator) from its published io.strimzi:api jar, as Strimzi's
#       build does (pom.xml here); needs Java >= 21
#     CloudNativePG (Cluster): config/crd/bases of the Go module github.com/cloudnative-pg/cloudnative-pg
#     Prometheus Operator (ServiceMonitor): example/prometheus-operator-crd of its Go module
set -euo pipefail

KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.1
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBERNETES_VERSION=1.34.0 # the oldest Kubernetes the manifests must suit
CNPG_VERSION=v1.30.0
PROMETHEUS_OPERATOR_VERSION=v0.85.0
# Strimzi's version is in pom.xml (strimzi.version).

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
UV=${UV:-uv}
say() { echo "k8s-tools: $*"; }
die() {
  echo "k8s-tools: $*" >&2
  exit 1
}

command -v go >/dev/null || die "needs Go (>= 1.24)"
command -v mvn >/dev/null || die "needs Maven (apt-get install maven)"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

say "kubeconform $KUBECONFORM_VERSION, kustomize $KUSTOMIZE_VERSION (go install)"
GOBIN="$HERE/bin" GOFLAGS=-mod=mod go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
GOBIN="$HERE/bin" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"

module_dir() { # the folder of a Go module in the module cache, downloading it if needed
  (cd "$scratch" && GOFLAGS=-mod=mod go mod download -json "$1") |
    "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))'
}
kubeconform_dir=$(module_dir "github.com/yannh/kubeconform@$KUBECONFORM_VERSION")
cnpg_dir=$(module_dir "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION")
prometheus_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")

say "Strimzi CRDs (io.strimzi:api + crd-generator, Maven)"
java=""
for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
  [[ -x $candidate ]] || continue
  major=$("$candidate" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  if [[ ${major%%.*} -ge 21 ]]; then
    java=$candidate
    break
  fi
done
[[ -n $java ]] || die "Strimzi's CRD generator needs Java >= 21 (none in PATH, JAVA_HOME or /usr/lib/jvm)"
rm -rf "$HERE/lib"
mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$HERE/lib" >"$scratch/mvn.log" 2>&1 ||
  { tail -n 30 "$scratch/mvn.log" >&2; die "mvn could not fetch the Strimzi jars"; }
mkdir -p "$scratch/crds"
"$java" -cp "$HERE/lib/*" io.strimzi.crdgenerator.CrdGenerator \
  --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
  "io.strimzi.api.kafka.model.kafka.Kafka=$scratch/crds/strimzi-kafka.yaml" \
  "io.strimzi.api.kafka.model.nodepool.KafkaNodePool=$scratch/crds/strimzi-kafkanodepool.yaml" \
  "io.strimzi.api.kafka.model.topic.KafkaTopic=$scratch/crds/strimzi-kafkatopic.yaml" \
  "io.strimzi.api.kafka.model.user.KafkaUser=$scratch/crds/strimzi-kafkauser.yaml"
cp "$cnpg_dir/config/crd/bases/postgresql.cnpg.io_clusters.yaml" "$scratch/crds/"
cp "$prometheus_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$scratch/crds/"

say "CRDs -> JSON schemas (kubeconform's openapi2jsonschema.py)"
rm -rf "$HERE/schemas"
mkdir -p "$HERE/schemas/crds"
# File names as kubeconform's template {{.Group}}-{{.ResourceKind}}-{{.ResourceAPIVersion}}.json
# finds them; DENY_ROOT_ADDITIONAL_PROPERTIES: a misspelt top-level field fails too.
(cd "$HERE/schemas/crds" && FILENAME_FORMAT='{fullgroup}-{kind}-{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=1 \
  "$PYTHON" "$kubeconform_dir/scripts/openapi2jsonschema.py" "$scratch"/crds/*.yaml >/dev/null)

say "Kubernetes $KUBERNETES_VERSION JSON schemas (kubernetes-validate $KUBERNETES_VALIDATE_VERSION, PyPI)"
"$UV" pip install --quiet --no-deps --target "$scratch/kv" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
"$PYTHON" - "$scratch/kv/kubernetes_validate/kubernetes-json-schema/v$KUBERNETES_VERSION-local-strict" \
  "$HERE/schemas/kubernetes" <<'PY'
# The package's schemas refer to one another by absolute URL ($id https://kubernetes.io/api/…,
# $ref /api/_definitions.json#…), which its own validator maps to files; kubeconform loads
# files by path, so the references become relative to the file and the $id goes.
import json
import sys
from pathlib import Path

source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True)
for path in source.glob("*.json"):
    text = path.read_text(encoding="utf-8").replace('"/api/_definitions.json#', '"_definitions.json#')
    schema = json.loads(text)
    schema.pop("$id", None)
    (target / path.name).write_text(json.dumps(schema), encoding="utf-8")
PY
say "done: $(ls "$HERE/schemas/kubernetes" | wc -l) Kubernetes and $(ls "$HERE/schemas/crds" | wc -l) custom resource schemas"
