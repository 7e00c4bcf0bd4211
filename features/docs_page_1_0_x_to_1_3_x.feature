@doc-page @page-1.0.x-1.3.x
Feature: API key auth, the page for agentgateway 1.0.x to 1.3.x
  The agentgateway documentation page "API key auth" as users of 1.0.x to 1.3.x read it,
  website commit f14302b2 (copy: features/pages/apikey-auth-1.0.x-to-1.3.x.md), step by
  step, in its order and its words. Its manifests are docstrings, verbatim; its commands
  are done as they do (curl, kubectl). Keys live in a Secret of three entries, two raw and
  one JSON with metadata. Each scenario proves that the gateway refuses a request before
  it checks a success.

  Background: Before you begin, and the first two steps of "Set up API key auth"
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And I create a Kubernetes secret to store my API keys
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: apikey
        namespace: agentgateway-system
        labels:
          app: httpbin
      stringData:
        api-key: N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy
        client2: RjBiNjcyLWM0YzQtMGJkNC04M2d3LWM1UzNHTi1lWklETXdZMk4
        client3: |
          {
            "key": "YWJjMTIzLTRlZjUtNjc4OS1hYmNkLWVmMTIzNDU2Nzg5MA",
            "metadata": {
              "group": "sales"
            }
          }
      """

  @APIKEY-DOC-201 @APIKeyCore
  Scenario: Set up API key auth
    Then I verify that the secret is created, and that the values in the data section are base64 encoded
      """
      kubectl get secret apikey -n agentgateway-system -oyaml
      """
    When I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves and reference the apikey secret
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
      """
    And I send a request to the httpbin app without an API key, as the page's curl commands do
      """
      curl -vi "${INGRESS_GW_ADDRESS}:80/headers" -H "host: www.example.com"
      curl -vi "localhost:8080/headers" -H "host: www.example.com"
      """
    Then the request fails with a 401 HTTP response code
    And the response body is "api key authentication failure: no API Key found"
    When I repeat the request with a valid API key in the Authorization header, as the page's curl commands do
      """
      curl -vi "${INGRESS_GW_ADDRESS}:80/headers" \
      -H "host: www.example.com" \
      -H "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
      curl -vi "localhost:8080/headers" \
      -H "host: www.example.com" \
      -H "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
      """
    Then the request succeeds
    And httpbin sees the header "Host" with the value "www.example.com"
    And httpbin does not see the header "Authorization"

  @APIKEY-DOC-202 @APIKeyCore
  Scenario: Each entry in the secret represents one valid API key, the raw key string or a JSON object with the key and optional metadata
    Given I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves and reference the apikey secret
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
      """
    When I send a request to the httpbin app with the invalid API key "not-the-key-in-the-secret"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the API key of the entry "client2" in the Secret "apikey"
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the API key of the entry "client3" in the Secret "apikey"
    Then the request is forwarded without the credential

  @APIKEY-DOC-203 @APIKeyCore
  Scenario: Cleanup
    Given I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves and reference the apikey secret
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
      """
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I remove the resources that I created in this guide
      """
      kubectl delete AgentgatewayPolicy apikey-auth -n agentgateway-system --ignore-not-found
      kubectl delete configmap apikey -n agentgateway-system --ignore-not-found
      kubectl delete secret apikey -n agentgateway-system --ignore-not-found
      """
    Then the request succeeds
    And httpbin does not see the header "Authorization"

  @APIKEY-DOC-204 @APIKeyCore
  Scenario: Label selectors
    Given I create two Secrets that are both selected by the app: httpbin label
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: apikey-team-a
        namespace: agentgateway-system
        labels:
          app: httpbin
      stringData:
        team-a-key: YXBpa2V5LXRlYW0tYQ
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: apikey-team-b
        namespace: agentgateway-system
        labels:
          app: httpbin
      stringData:
        team-b-key: YXBpa2V5LXRlYW0tYg
      """
    When I refer to API key secrets by using label selectors
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
            secretSelector:
              matchLabels:
                app: httpbin
      """
    And I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with the API key of the entry "team-a-key" in the Secret "apikey-team-a"
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the API key of the entry "team-b-key" in the Secret "apikey-team-b"
    Then the request is forwarded without the credential
    When I repeat the request with a valid API key in the Authorization header
    Then the request succeeds

  @APIKEY-DOC-205 @APIKeyCore @PreRouting
  Scenario: PreRouting phase
    When I use the PreRouting phase to validate API keys before any routing decision is made
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
          phase: PreRouting
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
      """
    And I send a request to "no-route.example.com/headers" without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-DOC-206 @APIKeyCore
  Scenario: Optional validation mode
    When I use the Optional mode to validate API keys when present, but allow requests without an API key
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
      """
    And I send a request to the httpbin app with the invalid API key "not-the-key-in-the-secret"
    Then the request fails with a 401 HTTP response code
    And the response body is "api key authentication failure: invalid credentials"
    When I send a request to the httpbin app without an API key
    Then the request succeeds
    When I repeat the request with a valid API key in the Authorization header
    Then the request succeeds
    And httpbin does not see the header "Authorization"
