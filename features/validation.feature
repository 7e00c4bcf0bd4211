@beyond-the-page
Feature: Manifests that break the schema
  Spec section 1: exactly one of secretRef, secretSelector and configMapSelector must be
  set. The CRD enforces it with a validation rule, so an API server refuses such a policy
  with the rule's message, and whatever was in force before stays in force.

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
