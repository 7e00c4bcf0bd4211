@doc-page @page-2026-02-19
Feature: API key auth, the page of 2026-02-19
  The agentgateway documentation page "API key auth" as published on 2026-02-19, website
  commit f9d73ee6 (copy: features/pages/apikey-auth-2026-02-19.md), step by step, in its
  order and its words: the suite's first mirror, kept as it was. Every manifest on the page
  appears verbatim in a docstring, and every command in the docstring of the step that does
  what it does. Before any success is checked, each scenario first proves that the gateway
  refuses a request.

  Background: Before you begin
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And I create a Kubernetes secret to store my API key
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: apikey
        namespace: agentgateway-system
        labels:
          app: httpbin
      type: extauth.solo.io/apikey
      stringData:
        api-key: N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy
      """

  @APIKEY-DOC-001 @APIKeyCore
  Scenario: Set up API key auth
    Then the secret "apikey" in namespace "agentgateway-system" holds the API key base64 encoded in data.api-key
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

  @APIKEY-DOC-002 @APIKeyCore
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
      kubectl delete AgentgatewayPolicy apikey-auth -n agentgateway-system
      kubectl delete secret apikey -n agentgateway-system
      """
    Then the request succeeds
    And httpbin does not see the header "Authorization"

  @APIKEY-DOC-003 @APIKeyCore
  Scenario: Label selectors
    When I refer to my API key secret by using label selectors
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
    And the response body is "api key authentication failure: no API Key found"
    When I repeat the request with a valid API key in the Authorization header
    Then the request succeeds
    And httpbin does not see the header "Authorization"

  @APIKEY-DOC-004 @APIKeyCore
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
