package kaniko

import (
	"context"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// needsURLSecret reports whether a URL context may carry access in its
// query string (a presigned URL), so it must not enter the pod spec.
func needsURLSecret(spec build.Spec) bool {
	if spec.Context.URL == "" {
		return false
	}
	u, err := url.Parse(spec.Context.URL)
	return err != nil || u.RawQuery != "" || u.ForceQuery || strings.Contains(spec.Context.URL, "?")
}

// createURLSecret stores the context URL in a Secret of its own for the
// pod to read; deleteURLSecret removes it on every path out. The
// Secret's owner reference to the pod (adopt) lets Kubernetes collect
// it should the provider die first.
func (e *Executor) createURLSecret(ctx context.Context, spec build.Spec, in PodInputs) (string, error) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "onesbuild-context-url-" + in.Nonce,
			Namespace: spec.Namespace,
			Labels:    podLabels(spec, in),
		},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{ContextURLKey: spec.Context.URL},
	}
	created, err := e.Client.CoreV1().Secrets(spec.Namespace).Create(ctx, secret, metav1.CreateOptions{})
	if err != nil {
		return "", &build.Failure{Reason: build.ReasonContextCredentials,
			Message: "storing the context URL, whose query string may grant access, in a Secret for the build pod (needs create on secrets)", Err: err}
	}
	return created.Name, nil
}

// adoptURLSecret makes the pod the Secret's owner; best effort.
func (e *Executor) adoptURLSecret(ctx context.Context, namespace, name string, pod *corev1.Pod) {
	secrets := e.Client.CoreV1().Secrets(namespace)
	secret, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return
	}
	secret.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID}}
	_, _ = secrets.Update(ctx, secret, metav1.UpdateOptions{})
}

func (e *Executor) deleteURLSecret(ctx context.Context, namespace, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := e.Client.CoreV1().Secrets(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
