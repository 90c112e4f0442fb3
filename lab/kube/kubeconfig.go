package kube

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"

	"github.com/nodewright/nodewright/charts"
)

// Names of the worker's identity in the lab cluster.
const (
	WorkerNamespace      = "kube-system"
	WorkerServiceAccount = "nodewright"
	workerClusterRole    = "nodewright"
)

// applyWorkerRole creates the worker's ClusterRole with the rules the Helm chart grants (one
// list, charts/nodewright/files/clusterrole-rules.yaml, so the lab's worker may do what an
// installed one may), or sets its rules back to them in a lab started before they last changed.
func applyWorkerRole(ctx context.Context, client kubernetes.Interface) error {
	workerRules, err := charts.WorkerRules()
	if err != nil {
		return err
	}
	roles := client.RbacV1().ClusterRoles()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: workerClusterRole}, Rules: workerRules}
	_, err = roles.Create(ctx, role, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			current, err := roles.Get(ctx, workerClusterRole, metav1.GetOptions{})
			if err != nil {
				return err
			}
			current.Rules = workerRules
			_, err = roles.Update(ctx, current, metav1.UpdateOptions{})
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("apply cluster role %s: %w", workerClusterRole, err)
	}
	return nil
}

// kubeconfigFor renders a kubeconfig for one user of the lab cluster.
func kubeconfigFor(server string, caPEM []byte, user string, auth *clientcmdapi.AuthInfo) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["lab"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = auth
	cfg.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: user}
	cfg.CurrentContext = "lab"
	return clientcmd.Write(*cfg)
}

// workerToken sets up the worker's service account with only the chart's rules and returns a
// bound token for it, valid for a week (the lab rarely lives that long).
func workerToken(ctx context.Context, client kubernetes.Interface) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: WorkerServiceAccount, Namespace: WorkerNamespace}}
	if _, err := client.CoreV1().ServiceAccounts(WorkerNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create service account %s/%s: %w", WorkerNamespace, WorkerServiceAccount, err)
	}
	if err := applyWorkerRole(ctx, client); err != nil {
		return "", err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: workerClusterRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: workerClusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: WorkerServiceAccount, Namespace: WorkerNamespace}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create cluster role binding %s: %w", workerClusterRole, err)
	}
	week := int64(7 * 24 * 3600)
	tr, err := client.CoreV1().ServiceAccounts(WorkerNamespace).CreateToken(ctx, WorkerServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &week}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request token for %s/%s: %w", WorkerNamespace, WorkerServiceAccount, err)
	}
	return tr.Status.Token, nil
}
