package v1alpha1

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

const namespace = "default"

// policies is the BurstPolicy resource on a real API server (kube.Start's
// unless start is given), with the project's CRD as generated from these
// types installed.
func policies(t *testing.T, start ...func(testing.TB) *kube.Env) (dynamic.ResourceInterface, *rest.Config) {
	t.Helper()
	run := kube.Start
	if len(start) > 0 {
		run = start[0]
	}
	env := run(t)
	dc, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return dc.Resource(GroupVersionResource).Namespace(namespace), env.Config
}

func toUnstructured(t *testing.T, p *BurstPolicy) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured) *BurstPolicy {
	t.Helper()
	var p BurstPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestAdmission runs the policies of the Validate tests against the API
// server: it accepts the valid ones and fills in the same defaults as
// Default, and refuses each bad one naming the same field as Validate. It
// does so on the release the kind node images run and on the oldest one
// the project supports: the CRD's CEL rules hold on both.
func TestAdmission(t *testing.T) {
	for _, server := range []struct {
		name, version string
		start         func(testing.TB) *kube.Env
	}{{"current", kube.CurrentVersion, kube.Start}, {"oldest", kube.OldestVersion, kube.StartOldest}} {
		t.Run(server.name+" "+server.version, func(t *testing.T) {
			res, rc := policies(t, server.start)
			cs, err := discovery.NewDiscoveryClientForConfig(rc)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := cs.ServerVersion(); err != nil || v.GitVersion != server.version {
				t.Fatalf("the API server is %v (%v), want %s", v, err, server.version)
			}
			testAdmission(t, res)
		})
	}
}

func testAdmission(t *testing.T, res dynamic.ResourceInterface) {
	ctx := context.Background()

	t.Run("accepts", func(t *testing.T) {
		for name, p := range validPolicies() {
			p.Name = strings.ReplaceAll(name, " ", "-")
			created, err := res.Create(ctx, toUnstructured(t, p), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("%s: refused: %v", name, err)
			}
			// The API server's defaults are Default's.
			want := p.DeepCopy()
			want.Default()
			if got := fromUnstructured(t, created); !reflect.DeepEqual(got.Spec, want.Spec) {
				g, _ := json.Marshal(got.Spec)
				w, _ := json.Marshal(want.Spec)
				t.Errorf("%s: the API server's defaults differ from Default's:\n api server %s\n Default    %s", name, g, w)
			}
		}
	})

	t.Run("refuses", func(t *testing.T) {
		for i, tt := range badPolicies {
			t.Run(tt.name, func(t *testing.T) {
				p := istioSLO()
				p.Name = fmt.Sprintf("bad-%d", i)
				tt.bad(p)
				_, err := res.Create(ctx, toUnstructured(t, p), metav1.CreateOptions{})
				if err == nil {
					t.Fatal("accepted")
				}
				var status apierrors.APIStatus
				if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
					t.Fatalf("want Invalid with the fields named, got %v", err)
				}
				var fields []string
				for _, c := range status.Status().Details.Causes {
					if c.Field == tt.field {
						return
					}
					fields = append(fields, c.Field)
				}
				t.Fatalf("want an error naming %s, got [%s]: %v", tt.field, strings.Join(fields, ", "), err)
			})
		}
	})
}

// TestPrinterColumns reads the policies as kubectl get does (the Table
// API): the route, the strategy, the weights, the rate, home's SLI and the
// conditions are columns.
func TestPrinterColumns(t *testing.T) {
	res, cfg := policies(t)
	ctx := context.Background()
	p := istioSLO()
	created, err := res.Create(ctx, toUnstructured(t, p), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = fromUnstructured(t, created)
	weights := []DestinationWeight{{Name: "primary", Weight: 80}, {Name: "burst", Weight: 20}}
	p.Status = BurstPolicyStatus{
		Route:        "VirtualService/worker",
		Weights:      weights,
		Split:        SplitOf(weights),
		RateRPS:      ptr(37.5),
		Destinations: []DestinationStatus{{Name: "primary", SLI: ptr(0.995)}, {Name: "burst", SLI: ptr(1.0)}},
		Conditions: []metav1.Condition{
			{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: string(ReasonReconciled), LastTransitionTime: metav1.Now()},
			{Type: ConditionBursting, Status: metav1.ConditionTrue, Reason: string(ReasonSpilling), LastTransitionTime: metav1.Now()},
		},
	}
	if _, err := res.UpdateStatus(ctx, toUnstructured(t, p), metav1.UpdateOptions{}); err != nil {
		t.Fatalf("writing the status: %v", err)
	}

	table := getTable(t, cfg)
	if len(table.Rows) != 1 {
		t.Fatalf("want one row, got %d", len(table.Rows))
	}
	want := map[string]string{
		"Name": "worker", "Route": "VirtualService/worker", "Strategy": "slo", "Weights": "80/20", "Rate": "37.5",
		"SLI": "0.995", "Ready": "True", "Bursting": "True", "VirtualService": "worker",
	}
	for i, col := range table.ColumnDefinitions {
		w, ok := want[col.Name]
		if !ok {
			continue
		}
		delete(want, col.Name)
		if got := fmt.Sprint(table.Rows[0].Cells[i]); got != w {
			t.Errorf("column %s: want %q, got %q", col.Name, w, got)
		}
	}
	for col := range want {
		t.Errorf("no column %s", col)
	}
}

// getTable lists the policies in namespace as a Table, as kubectl does.
func getTable(t *testing.T, cfg *rest.Config) *metav1.Table {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("%s/apis/%s/namespaces/%s/%s", strings.TrimSuffix(cfg.Host, "/"), GroupVersion, namespace, Resource)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var table metav1.Table
	if err := json.NewDecoder(resp.Body).Decode(&table); err != nil {
		t.Fatalf("decoding the table: %v", err)
	}
	return &table
}
