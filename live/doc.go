// Package live changes a running router's configuration over AMQP
// management (internal/mgmt), and watches files for changes.
//
// # Files
//
//	apply.go  Apply (a routerconf.Plan: DELETE, CREATE, UPDATE, each answer's status checked) and Converge
//	          (read the router's runtime entities and make them the desired ones, after a failure)
//	watch.go  Watcher: calls back, debounced, when the content of watched files changes (editors'
//	          rename-into-place, Kubernetes' ..data symlink swap, a file that is briefly gone)
//
// # Design
//
// What changes is decided on the rendered entities (routerconf.Entities and
// routerconf.Diff), not on configuration keys, so every entity type
// routerconf renders is handled by the same code: the runtime types
// (tcpListener, tcpConnector) are deleted and created, the attributes the
// schema marks updatable (sslProfile files and ordinal, log enable) are
// updated in place, and anything else is a restart that the caller asks
// the supervisor for. Apply stops at the first failed call; Converge then
// re-reads the router's tcpListeners and tcpConnectors and deletes and
// creates what differs from the desired set, so nothing stays half-applied
// whichever call failed. Converge never touches an entity whose attributes
// already match: flows on it survive.
package live
