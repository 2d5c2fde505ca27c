package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/operator"
)

// Why a policy cannot be served: the client's fault.
var (
	errNotFound  = operator.ErrNotFound
	errAmbiguous = operator.ErrAmbiguous
)

// readTimeout bounds reading a policy for the status API: a cache that
// cannot sync (its API server hung) answers 503 within it, not never.
const readTimeout = 2 * time.Second

// policySource is what the status API reads: the policies this replica
// serves.
type policySource interface {
	// Policy is the named policy ("": the only one) with its status as
	// this replica knows it, its recent changes of every reason, and
	// whether this replica leads. An error wrapping errNotFound or
	// errAmbiguous is the client's.
	Policy(ctx context.Context, name string) (*v1alpha1.BurstPolicy, []v1alpha1.Change, bool, error)
}

// registerAPI adds the status API the frontend's page reads: the policy
// as `kubectl get -o json` shows it, with the live status, and its recent
// changes. Burster-Leader says whether the replica that answered leads.
func registerAPI(e *echo.Echo, src policySource) {
	e.GET(bursterapi.StatusPath, func(c echo.Context) error {
		p, _, leader, err := policyOf(c, src)
		if err != nil {
			return err
		}
		c.Response().Header().Set(bursterapi.LeaderHeader, strconv.FormatBool(leader))
		return c.JSON(http.StatusOK, p)
	})
	e.GET(bursterapi.ChangesPath, func(c echo.Context) error {
		_, changes, leader, err := policyOf(c, src)
		if err != nil {
			return err
		}
		c.Response().Header().Set(bursterapi.LeaderHeader, strconv.FormatBool(leader))
		if changes == nil {
			changes = []v1alpha1.Change{} // a list: [] when empty
		}
		return c.JSON(http.StatusOK, v1alpha1.ChangeList{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.ChangeListKind}, Items: changes,
		})
	})
}

// policyOf reads the policy the request names; an error is the HTTP error
// to answer.
func policyOf(c echo.Context, src policySource) (*v1alpha1.BurstPolicy, []v1alpha1.Change, bool, error) {
	name := c.QueryParam(bursterapi.PolicyParam)
	if name != "" {
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return nil, nil, false, echo.NewHTTPError(http.StatusBadRequest, "policy: not a name: "+errs[0])
		}
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readTimeout)
	defer cancel()
	p, changes, leader, err := src.Policy(ctx, name)
	switch {
	case errors.Is(err, errNotFound):
		return nil, nil, false, echo.NewHTTPError(http.StatusNotFound, err.Error())
	case errors.Is(err, errAmbiguous):
		return nil, nil, false, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	case err != nil:
		return nil, nil, false, echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
	}
	return p, changes, leader, nil
}

// onePolicy serves the one policy of a burster that runs one (env and
// file modes). It keeps the status it last served, so that a condition
// keeps its transition time while it holds, as in the API.
type onePolicy struct {
	meta    func() *v1alpha1.BurstPolicy                                     // the policy, without its status
	status  func(prev v1alpha1.BurstPolicyStatus) v1alpha1.BurstPolicyStatus // on top of the last one
	changes func() []v1alpha1.Change
	leading func() bool

	mu   sync.Mutex
	last v1alpha1.BurstPolicyStatus
}

func (o *onePolicy) Policy(_ context.Context, name string) (*v1alpha1.BurstPolicy, []v1alpha1.Change, bool, error) {
	p := o.meta()
	if name != "" && name != p.Name {
		return nil, nil, false, fmt.Errorf("%w: %s is not served here: this burster runs %s", errNotFound, name, p.Name)
	}
	o.mu.Lock()
	o.last = o.status(o.last)
	p.Status = *o.last.DeepCopy()
	o.mu.Unlock()
	return p, o.changes(), o.leading(), nil
}
