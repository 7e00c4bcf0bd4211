@beyond-the-page
Feature: Manifests that break the schema
  Spec section 1: exactly one of secretRef, secretSelector and configMapSelector must be
  set. The CRD enforces it with a validation rule, so an API server refuses such a policy
  with the rule's message, and whatever was in force before stays in force. A field the
  CRD does not define is refused too, as kubectl's strict field validation refuses it.
  Only a refusal as invalid counts: one for want of rights, or for an object someone else
  owns, says nothing about validation. Each scenario shows a good policy enforcing first,
  and the same enforcement after the refusal.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-EXT-090 @ManifestValidation
  Scenario: A policy naming both a Secret and a selector is refused, and the last good one stays
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply an update of the policy that sets both secretRef and secretSelector
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Optional
            secretRef:
              name: apikey
            secretSelector:
              matchLabels:
                app: httpbin
      """
    Then the manifest is refused with a message containing "exactly one of the fields in [secretRef secretSelector configMapSelector] must be set"
    And the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-091 @ManifestValidation @KeyLocation
  Scenario: A location naming two places is refused, and the last good policy stays
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply an update of the policy that reads the key from a header and a cookie at once
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
            location:
              header:
                name: X-Api-Key
              cookie:
                name: session
      """
    Then the manifest is refused with a message containing "exactly one of the fields in [header queryParameter cookie expression] must be set"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-092 @ManifestValidation @PreRouting
  Scenario: A pre-routing policy on an HTTPRoute is refused, and the Gateway's policy stays the one in force
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply a pre-routing policy on the HTTPRoute, with keys from a Secret the route's namespace does not have
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: route-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: httpbin
        traffic:
          phase: PreRouting
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
      """
    Then the manifest is refused
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-093 @ManifestValidation
  Scenario: A policy whose targets are of two kinds is refused, and the last good one stays
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply an update of the policy that targets a Gateway and an HTTPRoute at once, in Optional mode
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: httpbin
        traffic:
          apiKeyAuthentication:
            mode: Optional
            secretRef:
              name: apikey
      """
    Then the manifest is refused
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-094 @ManifestValidation
  Scenario: A policy with more than 16 targets is refused, and the last good one stays
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply an update of the policy with 17 targets, the first of them the page's Gateway, in Optional mode
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - {group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-02}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-03}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-04}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-05}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-06}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-07}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-08}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-09}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-10}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-11}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-12}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-13}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-14}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-15}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-16}
          - {group: gateway.networking.k8s.io, kind: Gateway, name: gateway-17}
        traffic:
          apiKeyAuthentication:
            mode: Optional
            secretRef:
              name: apikey
      """
    Then the manifest is refused
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-095 @ManifestValidation
  Scenario: A mode other than Strict, Optional and Permissive is refused, and the last good policy stays
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply an update of the policy with the mode Lenient
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Lenient
            secretRef:
              name: apikey
      """
    Then the manifest is refused
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-096 @ManifestValidation
  Scenario: A policy with a misspelt field is refused, and the route it would have opened stays protected
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I try to apply an update of the policy whose apiKeyAuthentication is misspelt apiKeyAuthentification
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentification:
            mode: Strict
            secretRef:
              name: apikey
      """
    Then the manifest is refused as invalid at the field "spec.traffic.apiKeyAuthentification"
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential
