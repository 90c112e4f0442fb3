package activities

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waitForVolumes waits until the node's VolumeAttachments are gone, so that the drained
// pods' volumes can attach wherever the pods run next instead of waiting out a multi-attach
// timeout. As Karpenter does, it ignores the volumes of pods that stay on the node (they
// will not detach) and stops waiting once the deadline has passed.
func (d *drain) waitForVolumes(ctx context.Context, staying []*corev1.Pod) error {
	d.progress.Step = drainStepVolumes
	keep, err := d.kube.persistentVolumesOf(ctx, staying)
	if err != nil {
		return err
	}
	for {
		if d.deadlinePassed(d.kube.clock()) {
			return nil
		}
		pending, err := d.kube.volumeAttachmentsOn(ctx, d.req.NodeName, keep)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		for _, name := range pending {
			d.progress.VolumeAttachments = addUnique(d.progress.VolumeAttachments, name)
		}
		d.progress.heartbeat(ctx)
		if err := sleep(ctx, drainPollInterval); err != nil {
			return fmt.Errorf("%d volume attachments left (%v): %w", len(pending), pending, err)
		}
	}
}

// volumeAttachmentsOn names the node's VolumeAttachments of persistent volumes not in
// keep. VolumeAttachments have no field selector on spec.nodeName, hence the filter here.
func (k *Kube) volumeAttachmentsOn(ctx context.Context, nodeName string, keep map[string]bool) ([]string, error) {
	list, err := k.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("list volume attachments: %w", err)
	}
	var names []string
	for _, va := range list.Items {
		pv := va.Spec.Source.PersistentVolumeName
		if va.Spec.NodeName == nodeName && pv != nil && !keep[*pv] {
			names = append(names, va.Name)
		}
	}
	return names, nil
}

// persistentVolumesOf names the persistent volumes the pods' claims are bound to.
func (k *Kube) persistentVolumesOf(ctx context.Context, pods []*corev1.Pod) (map[string]bool, error) {
	pvs := map[string]bool{}
	for _, pod := range pods {
		for _, claim := range claimNames(pod) {
			pvc, err := k.Client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, claim, metav1.GetOptions{ResourceVersion: "0"})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("get claim %s/%s: %w", pod.Namespace, claim, err)
			}
			if pvc.Spec.VolumeName != "" {
				pvs[pvc.Spec.VolumeName] = true
			}
		}
	}
	return pvs, nil
}

// claimNames lists the pod's PersistentVolumeClaims, including those of generic ephemeral
// volumes, which are named <pod>-<volume>.
func claimNames(pod *corev1.Pod) []string {
	var names []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			names = append(names, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			names = append(names, pod.Name+"-"+v.Name)
		}
	}
	return names
}
