@beyond-the-page
Feature: Backends in other namespaces
  Gateway API: an HTTPRoute may send requests to a Service in another namespace only while
  a ReferenceGrant in that namespace lets HTTPRoutes from the route's namespace refer to it.
  Without one, the backend reference is invalid, and the requests it would have carried get
  a 500. The gateway's API key policy applies to these routes as to any other.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied
    And the "apikey-auth-strict" manifest is applied
    And I create an HTTPRoute in namespace agentgateway-system whose backend is the httpbin Service in namespace httpbin
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata:
        name: cross-namespace
        namespace: agentgateway-system
      spec:
        parentRefs:
          - name: agentgateway-proxy
        hostnames:
          - cross.example.com
        rules:
          - backendRefs:
              - name: httpbin
                namespace: httpbin
                port: 8000
      """

  @APIKEY-EXT-100 @CrossNamespaceBackends
  Scenario: A route reaches a Service in another namespace only while a ReferenceGrant there allows it
    When I send a request to "cross.example.com/anything" with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to "cross.example.com/anything" with a valid key in the Authorization header
    Then the request fails with a 500 HTTP response code
    When I create a ReferenceGrant in namespace httpbin that lets HTTPRoutes from agentgateway-system refer to its Services
      """
      apiVersion: gateway.networking.k8s.io/v1beta1
      kind: ReferenceGrant
      metadata:
        name: routes-from-agentgateway-system
        namespace: httpbin
      spec:
        from:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            namespace: agentgateway-system
        to:
          - group: ""
            kind: Service
      """
    Then the request is forwarded without the credential
    When I delete the ReferenceGrant "routes-from-agentgateway-system" in namespace "httpbin"
    Then the request fails with a 500 HTTP response code

  @APIKEY-EXT-101 @CrossNamespaceBackends
  Scenario: A ReferenceGrant that names Services allows those and no others
    When I create a ReferenceGrant in namespace httpbin for another Service only
      """
      apiVersion: gateway.networking.k8s.io/v1beta1
      kind: ReferenceGrant
      metadata:
        name: routes-from-agentgateway-system
        namespace: httpbin
      spec:
        from:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            namespace: agentgateway-system
        to:
          - group: ""
            kind: Service
            name: not-httpbin
      """
    And I send a request to "cross.example.com/anything" with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to "cross.example.com/anything" with a valid key in the Authorization header
    Then the request fails with a 500 HTTP response code
    When I update the ReferenceGrant to name the httpbin Service
      """
      apiVersion: gateway.networking.k8s.io/v1beta1
      kind: ReferenceGrant
      metadata:
        name: routes-from-agentgateway-system
        namespace: httpbin
      spec:
        from:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            namespace: agentgateway-system
        to:
          - group: ""
            kind: Service
            name: httpbin
      """
    Then the request is forwarded without the credential
