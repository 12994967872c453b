// Package kubernetes holds the tests of presign's Kubernetes manifests
// (base/, and the redis/ overlay that shares rate limits through Redis).
// It is a module of its own so that kustomize, the Kubernetes API types and
// kubeconform stay out of presign's go.mod.
//
// The test renders each kustomization as kubectl apply -k would
// (sigs.k8s.io/kustomize/api/krusty), validates every object with
// kubeconform against JSON schemas made from the OpenAPI v3 documents that
// the module k8s.io/kubernetes carries (api/openapi-spec/v3, read from the
// module cache: go mod download k8s.io/kubernetes@VERSION first; no network
// in the test), decodes each strictly into its k8s.io/api type, checks the
// properties the manifests promise (probes, non-root, read-only root file
// system, resources, what the Service, PodDisruptionBudget and
// HorizontalPodAutoscaler select), and checks the rendered presign.yaml with
// the pod's environment exactly as presign config check does. A table of
// broken manifests must each be refused.
package kubernetes
