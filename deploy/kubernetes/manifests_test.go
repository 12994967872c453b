package kubernetes

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"presign.dev/internal/config"
	"presign.dev/internal/service"
)

// The kustomizations a user applies, and the files they write themselves
// (ignored by git) from the examples beside them.
var (
	kustomizations = []string{"base", "redis"}
	userFiles      = map[string]string{
		"base/secrets.env": "base/secrets.env.example",
		"redis/redis.env":  "redis/redis.env.example",
	}
)

// sourceFiles reads the manifests of this directory as a user would apply
// them: every file under the kustomizations, except the user's own secret
// files, which are taken from their examples (so a developer's real
// secrets.env is neither read nor needed).
func sourceFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, dir := range kustomizations {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, own := userFiles[filepath.ToSlash(p)]; own {
				return nil
			}
			data, err := os.ReadFile(p)
			files[filepath.ToSlash(p)] = string(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for own, example := range userFiles {
		files[own] = files[example]
	}
	return files
}

// TestManifests: each kustomization renders, and every problem check finds
// is reported.
func TestManifests(t *testing.T) {
	files := sourceFiles(t)
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			for _, p := range check(t, files, dir) {
				t.Error(p)
			}
		})
	}
}

// TestBrokenManifests: each mutation of a manifest is refused, for the
// reason it breaks.
func TestBrokenManifests(t *testing.T) {
	tests := []struct {
		name      string
		dir       string // the kustomization rendered
		file      string
		old, new  string // new replaces old, which must occur in file
		wantInAny string // a problem holds this
	}{
		// The schemas.
		{"unknown field", "base", "base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "additional properties 'readOnlyRootFileSystem' not allowed"},
		{"wrong type", "base", "base/deployment.yaml", "replicas: 2", `replicas: "2"`, "at '/spec/replicas': got string, want integer"},
		{"a list for a string", "base", "base/service.yaml", "type: ClusterIP", "type: [ClusterIP]", "at '/spec/type': got array, want string"},
		{"an API version without a schema", "base", "base/hpa.yaml", "autoscaling/v2", "autoscaling/v2beta2", "could not find schema for HorizontalPodAutoscaler"},
		{"missing required field", "base", "base/hpa.yaml", "  maxReplicas: 10\n", "", "missing property 'maxReplicas'"},
		{"quantity of the wrong type", "base", "base/deployment.yaml", "memory: 256Mi", "memory: [256Mi]", "at '/spec/template/spec/containers/0/resources/limits/memory': 'oneOf' failed"},

		// The properties.
		{"readiness on another path", "base", "base/deployment.yaml", "path: /healthz", "path: /ready", "readiness probe"},
		{"liveness on the readiness route", "base", "base/deployment.yaml", "path: /livez\n              port: http\n            periodSeconds: 10", "path: /healthz\n              port: http\n            periodSeconds: 10", "liveness probe"},
		{"probe on another port", "base", "base/deployment.yaml", "path: /livez\n              port: http\n            periodSeconds: 10", "path: /livez\n              port: 9090\n            periodSeconds: 10", "liveness probe"},
		{"root", "base", "base/deployment.yaml", "runAsUser: 65532\n        runAsGroup: 65532\n        seccompProfile", "runAsUser: 0\n        runAsGroup: 65532\n        seccompProfile", "runAsUser"},
		{"may run as root", "base", "base/deployment.yaml", "runAsNonRoot: true\n            runAsUser", "runAsNonRoot: false\n            runAsUser", "runAsNonRoot"},
		{"writable root", "base", "base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"privilege escalation", "base", "base/deployment.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"capabilities kept", "base", "base/deployment.yaml", "drop: [ALL]", "drop: [NET_RAW]", "capabilities"},
		{"unconfined", "base", "base/deployment.yaml", "              type: RuntimeDefault\n      volumes:", "              type: Unconfined\n      volumes:", "seccomp"},
		{"no memory limit", "base", "base/deployment.yaml", "              memory: 256Mi\n", "", "resources"},
		{"token mounted", "base", "base/deployment.yaml", "automountServiceAccountToken: false", "automountServiceAccountToken: true", "automountServiceAccountToken"},
		{"service links", "base", "base/deployment.yaml", "enableServiceLinks: false", "enableServiceLinks: true", "enableServiceLinks"},
		{"grace shorter than the drain", "base", "base/deployment.yaml", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds: 12", "terminationGracePeriodSeconds"},
		{"spread over other pods", "base", "base/deployment.yaml", "labelSelector:\n            matchLabels:\n              app.kubernetes.io/name: presign\n", "labelSelector:\n            matchLabels:\n              app.kubernetes.io/name: presign-api\n", "topology spread"},
		{"one replica", "base", "base/deployment.yaml", "replicas: 2", "replicas: 1", "replicas"},
		{"service to a port nobody names", "base", "base/service.yaml", "targetPort: http", "targetPort: web", "Service presign"},
		{"service to the wrong number", "base", "base/service.yaml", "targetPort: http", "targetPort: 8081", "Service presign"},
		{"service selects nothing", "base", "base/service.yaml", "  selector:\n    app.kubernetes.io/name: presign", "  selector:\n    app.kubernetes.io/name: presign-api", "Service presign"},
		{"PDB selects nothing", "base", "base/pdb.yaml", "matchLabels:\n      app.kubernetes.io/name: presign", "matchLabels:\n      app.kubernetes.io/name: presign-api", "PodDisruptionBudget"},
		{"HPA scales something else", "base", "base/hpa.yaml", "name: presign\n  minReplicas", "name: presign-api\n  minReplicas", "HorizontalPodAutoscaler"},
		{"HPA on memory", "base", "base/hpa.yaml", "name: cpu", "name: memory", "HorizontalPodAutoscaler"},
		{"config elsewhere", "base", "base/deployment.yaml", "value: /etc/presign/presign.yaml", "value: /etc/presign.yaml", "PRESIGN_CONFIG"},

		// presign's own configuration check.
		{"config: an unknown field", "base", "base/presign.yaml", "bucket: my-bucket", "bucket: my-bucket\n    buckett: x", "presign config check"},
		{"config: a secret written in", "base", "base/presign.yaml", "${env:S3_SECRET_ACCESS_KEY}", "plain-secret", "presign config check"},
		{"config: a variable the Secret lacks", "base", "base/secrets.env", "UPLOAD_SECRET=", "UPLOAD_SECRET_OLD=", "presign config check"},
		{"config: a short upload secret", "base", "base/secrets.env", "example-upload-secret-not-a-real-one-0123456789abcdef", "short", "presign config check"},
		{"config: a bad shutdown delay", "base", "base/deployment.yaml", "value: 5s", "value: soon", "PRESIGN_SHUTDOWN_DELAY"},

		// The redis overlay.
		{"redis: writable root", "redis", "redis/redis.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "presign-redis"},
		{"redis: root", "redis", "redis/redis.yaml", "runAsUser: 999          # the image's redis user", "runAsUser: 0", "presign-redis"},
		{"redis: no data volume", "redis", "redis/redis.yaml", "mountPath: /data", "mountPath: /var/lib/redis", "/data"},
		{"redis: service to the wrong port", "redis", "redis/redis.yaml", "targetPort: redis", "targetPort: 6380", "Service presign-redis"},
		{"redis: URL without the password", "redis", "redis/presign-redis-url.yaml", "name: REDIS_PASSWORD\n              valueFrom", "name: REDIS_PASS\n              valueFrom", "unexpanded reference"},
		{"redis: presign.yaml drifted from the base's", "redis", "redis/presign.yaml", "bucket: my-bucket", "bucket: other-bucket", "redis/presign.yaml"},
		{"redis: memory store", "redis", "redis/presign.yaml", "store: redis", "store: memory", "presign config check"},
		{"redis: limits not shared", "redis", "redis/presign.yaml", "  store: redis\n  redis_url: ${env:PRESIGN_REDIS_URL}\n", "", "store redis"},
		{"redis: policy lets everyone in", "redis", "redis/redis.yaml", "      ports:\n        - port: redis\n          protocol: TCP\n", "      ports:\n        - port: 6380\n          protocol: TCP\n", "NetworkPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := sourceFiles(t)
			src, ok := files[tt.file]
			if !ok || !strings.Contains(src, tt.old) {
				t.Fatalf("%s does not hold %q: update the test", tt.file, tt.old)
			}
			files[tt.file] = strings.Replace(src, tt.old, tt.new, 1)
			problems := check(t, files, tt.dir)
			if len(problems) == 0 {
				t.Fatal("accepted")
			}
			if tt.wantInAny != "" && !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.wantInAny) }) {
				t.Errorf("no problem mentions %q:\n%s", tt.wantInAny, strings.Join(problems, "\n"))
			}
		})
	}
}

// TestSecretsStayOut: the files users put their secrets in are ignored by
// git, and their examples hold placeholders only.
func TestSecretsStayOut(t *testing.T) {
	ignore, err := os.ReadFile(".gitignore")
	if err != nil {
		t.Fatal(err)
	}
	for own, example := range userFiles {
		if !slices.Contains(strings.Split(string(ignore), "\n"), "/"+own) {
			t.Errorf(".gitignore does not list /%s", own)
		}
		data, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			name, value, ok := strings.Cut(line, "=")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			// A placeholder says so, or is a hash nobody knows the key of.
			if !strings.Contains(strings.ToLower(value), "example") && !strings.HasPrefix(value, "sha256:") {
				t.Errorf("%s: %s=%q does not look like a placeholder", example, name, value)
			}
		}
	}
}

// check renders the kustomization dir of files and returns every problem of
// what it renders; nil when there is none.
func check(t *testing.T, files map[string]string, dir string) []string {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	for name, data := range files {
		if err := mem.WriteFile(path.Join("/k", name), []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, path.Join("/k", dir))
	if err != nil {
		return []string{fmt.Sprintf("kustomize build %s: %v", dir, err)}
	}
	var objs []object
	for _, r := range resources.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, object{Kind: r.GetKind(), APIVersion: r.GetApiVersion(), Name: r.GetName(), YAML: data})
	}
	var p problems
	validateSchemas(t, objs, &p)
	set := decode(objs, &p)
	checkSet(&set, &p)
	checkPresignConfig(t, &set, &p)
	if dir == "redis" {
		if base, overlay := files["base/presign.yaml"], files["redis/presign.yaml"]; !strings.HasPrefix(overlay, base) {
			p.add("redis/presign.yaml: does not begin with base/presign.yaml (the overlay only adds limits): %s", cmp.Diff(base, overlay[:min(len(base), len(overlay))]))
		}
	}
	return p
}

// object is one rendered object.
type object struct {
	Kind, APIVersion, Name string
	YAML                   []byte
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// objectSet is what one kustomization renders, decoded strictly into the
// Kubernetes API types.
type objectSet struct {
	deployments   map[string]*appsv1.Deployment
	services      map[string]*corev1.Service
	configMaps    map[string]*corev1.ConfigMap
	secrets       map[string]*corev1.Secret
	accounts      map[string]*corev1.ServiceAccount
	pdbs          map[string]*policyv1.PodDisruptionBudget
	hpas          map[string]*autoscalingv2.HorizontalPodAutoscaler
	netpols       map[string]*networkingv1.NetworkPolicy
	configMapName string // the generated name of presign-config
}

// decode decodes each object into its type, refusing unknown fields,
// duplicate keys and wrong types, and kinds the manifests have no business
// with.
func decode(objs []object, p *problems) objectSet {
	s := objectSet{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		accounts: map[string]*corev1.ServiceAccount{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, netpols: map[string]*networkingv1.NetworkPolicy{},
	}
	for _, o := range objs {
		var into any
		switch o.APIVersion + " " + o.Kind {
		case "apps/v1 Deployment":
			v := &appsv1.Deployment{}
			s.deployments[o.Name], into = v, v
		case "v1 Service":
			v := &corev1.Service{}
			s.services[o.Name], into = v, v
		case "v1 ConfigMap":
			v := &corev1.ConfigMap{}
			s.configMaps[o.Name], into = v, v
		case "v1 Secret":
			v := &corev1.Secret{}
			s.secrets[o.Name], into = v, v
		case "v1 ServiceAccount":
			v := &corev1.ServiceAccount{}
			s.accounts[o.Name], into = v, v
		case "policy/v1 PodDisruptionBudget":
			v := &policyv1.PodDisruptionBudget{}
			s.pdbs[o.Name], into = v, v
		case "autoscaling/v2 HorizontalPodAutoscaler":
			v := &autoscalingv2.HorizontalPodAutoscaler{}
			s.hpas[o.Name], into = v, v
		case "networking.k8s.io/v1 NetworkPolicy":
			v := &networkingv1.NetworkPolicy{}
			s.netpols[o.Name], into = v, v
		default:
			p.add("%s %s/%s: not a kind of these manifests", o.APIVersion, o.Kind, o.Name)
			continue
		}
		if err := yaml.UnmarshalStrict(o.YAML, into); err != nil {
			p.add("decode %s/%s strictly: %v", o.Kind, o.Name, err)
		}
	}
	return s
}

// checkSet checks the properties the manifests promise.
func checkSet(s *objectSet, p *problems) {
	for name, d := range s.deployments {
		checkPod(name, &d.Spec.Template.Spec, p)
		if sel, err := selectorMatches(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels); !sel {
			p.add("Deployment %s: its selector does not select its pods: %v", name, err)
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, ref := range secretRefs(c) {
				if s.secrets[ref] == nil {
					p.add("Deployment %s: container %s reads the Secret %s, which is not rendered", name, c.Name, ref)
				}
			}
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil && s.configMaps[v.ConfigMap.Name] == nil {
				p.add("Deployment %s: volume %s mounts the ConfigMap %s, which is not rendered", name, v.Name, v.ConfigMap.Name)
			}
		}
	}

	d := s.deployments["presign"]
	if d == nil {
		p.add("no Deployment presign")
		return
	}
	pod := &d.Spec.Template.Spec
	c := container(pod, "presign")
	if c == nil {
		p.add("Deployment presign: no container presign")
		return
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		p.add("Deployment presign: replicas %s, want at least 2", deref(d.Spec.Replicas))
	}
	http := namedPort(c, "http")
	if http == nil || http.ContainerPort != 8080 {
		p.add("Deployment presign: no container port http 8080")
	}
	probe := func(what string, pr *corev1.Probe, wantPath string) {
		switch {
		case pr == nil || pr.HTTPGet == nil:
			p.add("Deployment presign: no HTTP %s probe", what)
		case pr.HTTPGet.Path != wantPath:
			p.add("Deployment presign: %s probe GET %s, want %s", what, pr.HTTPGet.Path, wantPath)
		case resolvePort(c, pr.HTTPGet.Port) != 8080:
			p.add("Deployment presign: %s probe on port %s, not the container's 8080", what, pr.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/healthz")
	probe("liveness", c.LivenessProbe, "/livez")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/livez")
	}

	// Drain: the grace period covers the shutdown delay and timeout.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	delay, timeout := time.Duration(0), 8*time.Second // serve's defaults
	for name, into := range map[string]*time.Duration{"PRESIGN_SHUTDOWN_DELAY": &delay, "PRESIGN_SHUTDOWN_TIMEOUT": &timeout} {
		if v, ok := env[name]; ok {
			dur, err := time.ParseDuration(v)
			if err != nil {
				p.add("Deployment presign: %s: %v", name, err)
			}
			*into = dur
		}
	}
	if delay == 0 {
		p.add("Deployment presign: no PRESIGN_SHUTDOWN_DELAY: endpoints may still send to a pod that has stopped listening")
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= delay+timeout {
		p.add("Deployment presign: terminationGracePeriodSeconds %s is not above the shutdown delay %v + timeout %v", deref(g), delay, timeout)
	}
	if len(pod.TopologySpreadConstraints) == 0 && (pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil) {
		p.add("Deployment presign: neither topology spread constraints nor pod anti-affinity")
	}
	for _, tsc := range pod.TopologySpreadConstraints {
		if tsc.LabelSelector == nil {
			p.add("Deployment presign: a topology spread constraint without a label selector")
		} else if ok, err := selectorMatches(tsc.LabelSelector.MatchLabels, d.Spec.Template.Labels); !ok {
			p.add("Deployment presign: topology spread on %s: %v", tsc.TopologyKey, err)
		}
	}

	// The configuration file is the ConfigMap's presign.yaml.
	var configVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && strings.HasPrefix(v.ConfigMap.Name, "presign-config") {
			configVolume = v.Name
			s.configMapName = v.ConfigMap.Name
		}
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == configVolume && path.Join(m.MountPath, "presign.yaml") == env["PRESIGN_CONFIG"] {
			mounted = true
		}
	}
	if !mounted || s.configMaps[s.configMapName] == nil || s.configMaps[s.configMapName].Data["presign.yaml"] == "" {
		p.add("Deployment presign: PRESIGN_CONFIG %q is not the presign.yaml of a mounted presign-config ConfigMap", env["PRESIGN_CONFIG"])
	}

	podLabels := d.Spec.Template.Labels
	svc := s.services["presign"]
	switch {
	case svc == nil:
		p.add("no Service presign")
	case svc.Spec.Type != corev1.ServiceTypeClusterIP:
		p.add("Service presign: type %s, want ClusterIP", svc.Spec.Type)
	default:
		if ok, err := selectorMatches(svc.Spec.Selector, podLabels); !ok {
			p.add("Service presign: selects no presign pod: %v", err)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || resolvePort(c, svc.Spec.Ports[0].TargetPort) != 8080 {
			p.add("Service presign: want port 80 to the container's 8080, got %+v", svc.Spec.Ports)
		}
	}
	if pdb := s.pdbs["presign"]; pdb == nil {
		p.add("no PodDisruptionBudget presign")
	} else {
		if pdb.Spec.Selector == nil {
			p.add("PodDisruptionBudget presign: no selector")
		} else if ok, err := selectorMatches(pdb.Spec.Selector.MatchLabels, podLabels); !ok || len(pdb.Spec.Selector.MatchExpressions) > 0 {
			p.add("PodDisruptionBudget presign: does not select the presign pods: %v", err)
		}
		if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
			p.add("PodDisruptionBudget presign: neither minAvailable nor maxUnavailable")
		}
	}
	if hpa := s.hpas["presign"]; hpa == nil {
		p.add("no HorizontalPodAutoscaler presign")
	} else {
		ref := hpa.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
			p.add("HorizontalPodAutoscaler presign: scales %s %s/%s, not the Deployment", ref.APIVersion, ref.Kind, ref.Name)
		}
		cpu := slices.ContainsFunc(hpa.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
			return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
				m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil
		})
		if !cpu {
			p.add("HorizontalPodAutoscaler presign: no CPU utilization target")
		}
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
			p.add("HorizontalPodAutoscaler presign: minReplicas below 2")
		}
		if c.Resources.Requests.Cpu().IsZero() {
			p.add("HorizontalPodAutoscaler presign: CPU utilization needs the container's CPU request")
		}
	}
	if sa := s.accounts[pod.ServiceAccountName]; pod.ServiceAccountName != "" && (sa == nil || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken) {
		p.add("ServiceAccount %s: not rendered, or it mounts its token", pod.ServiceAccountName)
	}

	if r := s.deployments["presign-redis"]; r != nil {
		checkRedis(s, r, podLabels, p)
	}
}

// checkRedis checks the redis overlay's Redis: data on an emptyDir at /data,
// its Service, and a NetworkPolicy that admits presign's pods alone.
func checkRedis(s *objectSet, r *appsv1.Deployment, presignLabels map[string]string, p *problems) {
	pod := &r.Spec.Template.Spec
	c := container(pod, "redis")
	if c == nil {
		p.add("Deployment presign-redis: no container redis")
		return
	}
	data := false
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil && m.MountPath == "/data" && !m.ReadOnly {
				data = true
			}
		}
	}
	if !data {
		p.add("Deployment presign-redis: no emptyDir mounted at /data (the root file system is read-only)")
	}
	svc := s.services["presign-redis"]
	if svc == nil {
		p.add("no Service presign-redis")
		return
	}
	if ok, err := selectorMatches(svc.Spec.Selector, r.Spec.Template.Labels); !ok {
		p.add("Service presign-redis: selects no Redis pod: %v", err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 6379 || resolvePort(c, svc.Spec.Ports[0].TargetPort) != 6379 {
		p.add("Service presign-redis: want port 6379 to the container's 6379, got %+v", svc.Spec.Ports)
	}
	np := s.netpols["presign-redis"]
	if np == nil {
		p.add("no NetworkPolicy presign-redis")
		return
	}
	if ok, err := selectorMatches(np.Spec.PodSelector.MatchLabels, r.Spec.Template.Labels); !ok {
		p.add("NetworkPolicy presign-redis: does not select the Redis pods: %v", err)
	}
	want := len(np.Spec.Ingress) == 1 && len(np.Spec.Ingress[0].From) == 1 && len(np.Spec.Ingress[0].Ports) == 1
	if want {
		from, port := np.Spec.Ingress[0].From[0], np.Spec.Ingress[0].Ports[0]
		ok, _ := selectorMatches(from.PodSelector.MatchLabels, presignLabels)
		notRedis, _ := selectorMatches(from.PodSelector.MatchLabels, r.Spec.Template.Labels)
		want = from.PodSelector != nil && ok && !notRedis && port.Port != nil && resolvePort(c, *port.Port) == 6379
	}
	if !want {
		p.add("NetworkPolicy presign-redis: want one ingress rule, from presign's pods to port 6379")
	}
}

// checkPod checks what every pod of the manifests must be: non-root,
// read-only, without privileges or a service account token, with resources.
func checkPod(name string, pod *corev1.PodSpec, p *problems) {
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		p.add("Deployment %s: automountServiceAccountToken is not false", name)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		p.add("Deployment %s: enableServiceLinks is not false (PRESIGN_* variables of Services would reach presign)", name)
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if len(pod.InitContainers) > 0 || len(pod.EphemeralContainers) > 0 {
		p.add("Deployment %s: init or ephemeral containers are not checked here", name)
	}
	for _, c := range pod.Containers {
		where := fmt.Sprintf("Deployment %s: container %s", name, c.Name)
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			p.add("%s: runAsNonRoot is not true", where)
		}
		for _, uid := range []*int64{psc.RunAsUser, sc.RunAsUser} {
			if uid != nil && *uid == 0 {
				p.add("%s: runAsUser 0", where)
			}
		}
		if sc.RunAsUser == nil && psc.RunAsUser == nil {
			p.add("%s: no runAsUser (runAsNonRoot needs a numeric user)", where)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p.add("%s: readOnlyRootFilesystem is not true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.add("%s: allowPrivilegeEscalation is not false", where)
		}
		if sc.Privileged != nil && *sc.Privileged {
			p.add("%s: privileged", where)
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Add) > 0 || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			p.add("%s: capabilities: want drop [ALL] and no add", where)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.add("%s: no RuntimeDefault seccomp profile", where)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				p.add("%s: resources: no %s request", where, res)
			}
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			p.add("%s: resources: no memory limit", where)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			p.add("%s: readiness and liveness probes needed", where)
		}
	}
}

// checkPresignConfig checks the presign container's configuration as
// `presign config check` does (config.LoadServing, then service.New), with
// the environment the pod gets: the Secrets' values and env, $(VAR)
// references expanded as the kubelet does, and PRESIGN_CONFIG pointing at the
// ConfigMap's presign.yaml written to a file.
func checkPresignConfig(t *testing.T, s *objectSet, p *problems) {
	t.Helper()
	d := s.deployments["presign"]
	if d == nil {
		return
	}
	c := container(&d.Spec.Template.Spec, "presign")
	cm := s.configMaps[s.configMapName]
	if c == nil || cm == nil {
		return
	}
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.SecretRef != nil && s.secrets[from.SecretRef.Name] != nil {
			for k, v := range secretData(s.secrets[from.SecretRef.Name]) {
				env[from.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = expand(e.Value, func(name string) (string, bool) { v, ok := env[name]; return v, ok })
		case e.ValueFrom.SecretKeyRef != nil && s.secrets[e.ValueFrom.SecretKeyRef.Name] != nil:
			v, ok := secretData(s.secrets[e.ValueFrom.SecretKeyRef.Name])[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				p.add("Deployment presign: %s: the Secret %s has no key %s", e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			env[e.Name] = v
		default:
			p.add("Deployment presign: %s: a value from somewhere this test does not read", e.Name)
		}
	}
	for name, v := range env {
		if strings.Contains(v, "$(") {
			p.add("Deployment presign: %s holds an unexpanded reference (the variable it names is not defined before it): %s", name, redactURL(v))
		}
	}
	file := filepath.Join(t.TempDir(), "presign.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["presign.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(name string) (string, bool) {
		if name == "PRESIGN_CONFIG" {
			return file, env[name] != ""
		}
		v, ok := env[name]
		return v, ok
	}
	cfg, err := config.LoadServing(lookup, "")
	if err == nil {
		_, err = service.New(cfg, service.Options{})
	}
	if err != nil {
		p.add("presign config check of %s with the pod's environment: %v", s.configMapName, err)
		return
	}
	if _, shared := s.deployments["presign-redis"]; shared && cfg.Limits.Store != config.StoreRedis {
		p.add("presign config check: limits.store is %q with the Redis of the overlay, want redis", cfg.Limits.Store)
	}
}

// expand replaces $(NAME) in s with NAME's value where lookup has one, as
// Kubernetes does in a container's env values, command and args: $$ is a
// literal $, and a reference to a variable not defined is left as written.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// redactURL hides a URL's password, for problems that quote a value.
func redactURL(v string) string {
	if at := strings.LastIndexByte(v, '@'); at >= 0 {
		if scheme := strings.Index(v, "://"); scheme >= 0 && scheme < at {
			return v[:scheme+3] + "…" + v[at:]
		}
	}
	return v
}

func secretData(s *corev1.Secret) map[string]string {
	m := map[string]string{}
	for k, v := range s.StringData {
		m[k] = v
	}
	for k, v := range s.Data {
		m[k] = string(v)
	}
	return m
}

func secretRefs(c corev1.Container) []string {
	var refs []string
	for _, from := range c.EnvFrom {
		if from.SecretRef != nil {
			refs = append(refs, from.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			refs = append(refs, e.ValueFrom.SecretKeyRef.Name)
		}
	}
	return refs
}

func container(pod *corev1.PodSpec, name string) *corev1.Container {
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i]
		}
	}
	return nil
}

func namedPort(c *corev1.Container, name string) *corev1.ContainerPort {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i]
		}
	}
	return nil
}

// resolvePort returns the container port that p names or numbers, 0 when
// the container has none such.
func resolvePort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.String {
		if np := namedPort(c, p.StrVal); np != nil {
			return np.ContainerPort
		}
		return 0
	}
	for _, cp := range c.Ports {
		if cp.ContainerPort == p.IntVal {
			return cp.ContainerPort
		}
	}
	return 0
}

// selectorMatches reports whether a non-empty selector selects labels.
func selectorMatches(selector, labels map[string]string) (bool, error) {
	if len(selector) == 0 {
		return false, fmt.Errorf("an empty selector")
	}
	for k, v := range selector {
		if labels[k] != v {
			return false, fmt.Errorf("%s=%s is not a label of %v", k, v, labels)
		}
	}
	return true, nil
}

// deref formats what p points to, for problems.
func deref[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "PW": "p@ss", "EMPTY": ""}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "x"},
		{"redis://:$(PW)@h:6379/0", "redis://:p@ss@h:6379/0"},
		{"$(A)$(A)", "xx"},
		{"$(EMPTY)!", "!"},
		{"$(UNSET)", "$(UNSET)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$x"},
		{"$A", "$A"},
		{"$", "$"},
		{"$(A", "$(A"},
		{"a$)b", "a$)b"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, expand(tt.in, lookup)); diff != "" {
			t.Errorf("expand(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzExpand: text without $ is kept as it is; with nothing defined, the
// only change is $$ to $; and the value of a variable comes out as written,
// whatever it holds.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "a", "$(A)", "$$(A)", "$(A", "$", "x$(A)y$(B)$$", "$()"} {
		f.Add(s, "v$(A)$$")
	}
	f.Fuzz(func(t *testing.T, s, value string) {
		none := func(string) (string, bool) { return "", false }
		if !strings.Contains(s, "$") && expand(s, none) != s {
			t.Errorf("expand(%q) changed text without $", s)
		}
		if strings.Contains(s, "$$") {
			return
		}
		if got := expand(s, none); got != s {
			t.Errorf("expand(%q) with nothing defined = %q", s, got)
		}
		if strings.Contains(s, "$") {
			return
		}
		in := "<" + s + ">$(V)"
		want := "<" + s + ">" + value
		if got := expand(in, func(n string) (string, bool) { return value, n == "V" }); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	})
}
