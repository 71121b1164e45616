package live

import (
	"context"
	"fmt"
	"slices"

	"github.com/edgeproxy/edgeproxy/internal/mgmt"
	"github.com/edgeproxy/edgeproxy/routerconf"
)

// Management is what live needs of the management client (*mgmt.Client).
type Management interface {
	Query(ctx context.Context, entityType string, attributeNames ...string) ([]mgmt.Record, error)
	Create(ctx context.Context, entityType, name string, attributes map[string]any) (mgmt.Record, error)
	Update(ctx context.Context, entityType, name string, attributes map[string]any) (mgmt.Record, error)
	Delete(ctx context.Context, entityType, name string) error
}

// longType is the router's full name of a rendered entity type.
func longType(short string) string { return "io.skupper.router." + short }

// Result says what Apply or Converge did.
type Result struct {
	Deleted, Created, Updated []string // entity keys, in the order done
}

// Changes is how many calls changed the router.
func (r Result) Changes() int { return len(r.Deleted) + len(r.Created) + len(r.Updated) }

// Apply makes plan's runtime changes: DELETE (a missing entity counts as
// deleted), then CREATE, then UPDATE. It stops at the first failure and
// returns what it did so far with the error; plan.Restart is not its
// business.
func Apply(ctx context.Context, m Management, plan routerconf.Plan) (Result, error) {
	var r Result
	for _, e := range plan.Delete {
		if err := m.Delete(ctx, longType(e.Type), e.Name()); err != nil && !mgmt.IsNotFound(err) {
			return r, fmt.Errorf("delete %s: %w", e.Key(), err)
		}
		r.Deleted = append(r.Deleted, e.Key())
	}
	for _, e := range plan.Create {
		if _, err := m.Create(ctx, longType(e.Type), e.Name(), e.Map()); err != nil {
			return r, fmt.Errorf("create %s: %w", e, err)
		}
		r.Created = append(r.Created, e.Key())
	}
	for _, u := range plan.Update {
		if _, err := m.Update(ctx, longType(u.Entity.Type), u.Entity.Name(), u.Changed); err != nil {
			return r, fmt.Errorf("update %s: %w", u.Entity.Key(), err)
		}
		r.Updated = append(r.Updated, u.Entity.Key())
	}
	return r, nil
}

// Converge reads the router's entities of the runtime types and makes them
// desired's: those it has that are not desired, or whose attributes differ,
// are deleted; the desired ones it lacks (or that were deleted for
// differing) are created. Entities that match are left alone.
func Converge(ctx context.Context, m Management, desired []routerconf.Entity) (Result, error) {
	var r Result
	for _, typ := range routerconf.RuntimeTypes {
		recs, err := m.Query(ctx, longType(typ))
		if err != nil {
			return r, fmt.Errorf("converge: read %ss: %w", typ, err)
		}
		have := map[string]mgmt.Record{}
		for _, rec := range recs {
			have[rec.String("name")] = rec
		}
		var want []routerconf.Entity
		for _, e := range desired {
			if e.Type == typ {
				want = append(want, e)
			}
		}
		for _, rec := range recs {
			name := rec.String("name")
			i := slices.IndexFunc(want, func(e routerconf.Entity) bool { return e.Name() == name })
			if i >= 0 && matches(want[i], rec) {
				continue
			}
			if err := m.Delete(ctx, longType(typ), name); err != nil && !mgmt.IsNotFound(err) {
				return r, fmt.Errorf("converge: delete %s/%s: %w", typ, name, err)
			}
			delete(have, name)
			r.Deleted = append(r.Deleted, typ+"/"+name)
		}
		for _, e := range want {
			if _, ok := have[e.Name()]; ok {
				continue
			}
			if _, err := m.Create(ctx, longType(typ), e.Name(), e.Map()); err != nil {
				return r, fmt.Errorf("converge: create %s: %w", e, err)
			}
			r.Created = append(r.Created, e.Key())
		}
	}
	return r, nil
}

// matches reports whether the router's record has e's attributes, as the
// router reports them (ports as strings, as rendered).
func matches(e routerconf.Entity, rec mgmt.Record) bool {
	for _, a := range e.Attrs {
		if fmt.Sprint(rec[a.Key]) != fmt.Sprint(a.Value) {
			return false
		}
	}
	return true
}
