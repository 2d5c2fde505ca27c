package mesh

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// publishServices does what the EndpointSlice controller and a cloud's load
// balancer controller would: every Service with a selector gets an
// EndpointSlice of its ready pods (empty when none match, as in the burst
// cluster's Redis Service), and every LoadBalancer Service an ingress
// address in its status.
func (c *Cluster) publishServices(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	svcs, err := cs.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("%s: listing services: %w", c.Spec.Name, err)
	}
	lb := 0
	for _, svc := range svcs.Items {
		if len(svc.Spec.Selector) == 0 {
			continue // the API server's own "kubernetes" Service, or one whose endpoints are elsewhere
		}
		if _, err := cs.DiscoveryV1().EndpointSlices(svc.Namespace).Create(ctx, c.endpointSlice(&svc), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("%s: endpoints of %s/%s: %w", c.Spec.Name, svc.Namespace, svc.Name, err)
		}
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			lb++
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: fmt.Sprintf("%s.%d", c.Spec.LoadBalancerSubnet, lb)}}
			if _, err := cs.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, &svc, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("%s: load balancer address of %s/%s: %w", c.Spec.Name, svc.Namespace, svc.Name, err)
			}
		}
	}
	return nil
}

// Publish does what the EndpointSlice controller does after a Service
// changed: its slice lists the pods its selector selects now, and a Service
// without a selector has none.
func (c *Cluster) Publish(ctx context.Context, namespace, service string) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", c.Spec.Name, err)
	}
	slice := c.endpointSlice(svc)
	err = cs.DiscoveryV1().EndpointSlices(namespace).Delete(ctx, slice.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: endpoints of %s/%s: %w", c.Spec.Name, namespace, service, err)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(namespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("%s: endpoints of %s/%s: %w", c.Spec.Name, namespace, service, err)
	}
	return nil
}

// endpointSlice is the slice the EndpointSlice controller would write for
// svc: its ready pods, its ports resolved against the pods' named ports.
func (c *Cluster) endpointSlice(svc *corev1.Service) *discoveryv1.EndpointSlice {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: svc.Name + "-" + c.Spec.Name, Namespace: svc.Namespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: svc.Name,
				discoveryv1.LabelManagedBy:   "endpointslice-controller.k8s.io",
			},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	var first *Pod
	for i, p := range c.Pods {
		if !p.matches(svc.Namespace, svc.Spec.Selector) {
			continue
		}
		if first == nil {
			first = &c.Pods[i]
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{p.IP()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		})
	}
	for _, sp := range svc.Spec.Ports {
		port := sp.Port
		switch {
		case sp.TargetPort.Type == intstr.String:
			if first == nil {
				continue // a named port resolves only against a pod
			}
			resolved, ok := first.containerPort(sp.TargetPort.StrVal)
			if !ok {
				continue
			}
			port = resolved
		case sp.TargetPort.IntVal != 0:
			port = sp.TargetPort.IntVal
		}
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{
			Name: ptr.To(sp.Name), Protocol: ptr.To(sp.Protocol), Port: ptr.To(port), AppProtocol: sp.AppProtocol,
		})
	}
	return slice
}
