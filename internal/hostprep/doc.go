// Package hostprep checks and prepares the machine that runs the test
// harness: a Docker engine that answers, and privileged containers that
// start even when the kernel's capability bounding set is incomplete.
//
// kind runs its nodes as privileged containers. Docker 20.10 asks runc for
// every capability the kernel knows; inside sandboxes whose bounding set
// lacks one of them (CAP_SYS_RESOURCE on the project's CI machines) runc
// fails with "unable to apply caps: operation not permitted". The fix is a
// runc wrapper registered as Docker's default runtime that drops the
// capabilities the host cannot grant before handing over to the real runc.
package hostprep
