@doc-page @page-1.4.x
Feature: API key auth, the page for agentgateway 1.4.x and main
  The agentgateway documentation page "API key auth" as users of 1.4.x (latest) and main
  (1.5.x) read it, website commit f14302b2 (copy: features/pages/apikey-auth-1.4.x-and-main.md),
  step by step, in its order and its words. Its manifests are docstrings, verbatim; its
  commands are run (the hash command, through sh) or done as they do (curl, kubectl).
  ConfigMaps with hashed keys come first; Secrets, PreRouting and Optional follow. Each
  scenario proves that the gateway refuses a request before it checks a success.

  Background: Before you begin, and the first three steps of "Set up API key auth"
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And I generate a sha256:<hex> hash of the API key, computed over the exact key bytes without a trailing newline
      """
      printf '%s' 'N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy' | sha256sum | awk '{print "sha256:"$1}'
      """
    And I create a ConfigMap to store my API key hashes, each entry a JSON object with a keyHash and optional metadata, with a label so that the policy can select it
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: apikey
        namespace: agentgateway-system
        labels:
          app: httpbin
      data:
        api-key: |
          {
            "keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166",
            "metadata": {
              "group": "sales"
            }
          }
      """

  @APIKEY-DOC-101 @APIKeyCore @ConfigMapKeys @HashedKeys
  Scenario: Set up API key auth
    Then the ConfigMap "apikey" holds, as a keyHash entry, the hash I generated last
    When I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves, and select the apikey ConfigMap with configMapSelector
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
            configMapSelector:
              matchLabels:
                app: httpbin
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

  @APIKEY-DOC-102 @APIKeyCore @ConfigMapKeys @HashedKeys
  Scenario: The hash is computed over the exact key bytes, so a hash with a trailing newline is another key's
    Given I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves, and select the apikey ConfigMap with configMapSelector
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
            configMapSelector:
              matchLabels:
                app: httpbin
      """
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential
    When I generate a hash of the API key with a trailing newline, as echo adds one
      """
      echo 'N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy' | sha256sum | awk '{print "sha256:"$1}'
      """
    Then that hash is not the hash of the exact key bytes
    When I update the ConfigMap to hold that hash instead
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: apikey
        namespace: agentgateway-system
        labels:
          app: httpbin
      data:
        api-key: |
          {
            "keyHash": "sha256:76b1adef3bcd8be76479211b4b53e89fc6572681c0cf27e18f80e008b9ba1e0e",
            "metadata": {
              "group": "sales"
            }
          }
      """
    Then the ConfigMap "apikey" holds, as a keyHash entry, the hash I generated last
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"

  @APIKEY-DOC-103 @APIKeyCore @ConfigMapKeys @HashedKeys
  Scenario: An entry with a raw key in a selected ConfigMap is rejected, while the valid entries continue to work
    Given I update the ConfigMap with two entries that use a raw key beside the hashed one
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: apikey
        namespace: agentgateway-system
        labels:
          app: httpbin
      data:
        api-key: |
          {
            "keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166",
            "metadata": {
              "group": "sales"
            }
          }
        raw-json: |
          {
            "key": "raw-json-key-5e1a",
            "metadata": {
              "group": "sales"
            }
          }
        raw-plain: raw-plain-key-7b2c
      """
    And I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves, and select the apikey ConfigMap with configMapSelector
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
            configMapSelector:
              matchLabels:
                app: httpbin
      """
    When I send a request to the httpbin app with the key "raw-json-key-5e1a" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "raw-plain-key-7b2c" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-DOC-104 @APIKeyCore @ConfigMapKeys @HashedKeys @PolicyStatus
  Scenario: A policy that selects a ConfigMap with a raw key reports a PartiallyValid status
    Given I update the ConfigMap with an entry that uses a raw key beside the hashed one
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: apikey
        namespace: agentgateway-system
        labels:
          app: httpbin
      data:
        api-key: |
          {
            "keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166",
            "metadata": {
              "group": "sales"
            }
          }
        raw-json: |
          {
            "key": "raw-json-key-5e1a"
          }
      """
    And I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves, and select the apikey ConfigMap with configMapSelector
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
            configMapSelector:
              matchLabels:
                app: httpbin
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    And the policy "apikey-auth" in namespace "agentgateway-system" reports Accepted=True with reason PartiallyValid and a message containing "configMap apikey contains invalid key raw-json" for the Gateway "agentgateway-proxy"
    And no status message contains a key from the scenario's Secrets
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-DOC-105 @APIKeyCore @ConfigMapKeys @HashedKeys
  Scenario: Cleanup
    Given I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves, and select the apikey ConfigMap with configMapSelector
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
            configMapSelector:
              matchLabels:
                app: httpbin
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

  @APIKEY-DOC-106 @APIKeyCore
  Scenario: Store keys in a Secret: a single Secret, by name with secretRef
    Given I create a Secret to store my API keys, each entry the raw key string or a JSON object with a key and optional metadata
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
    When I reference a single Secret by name with secretRef in the AgentgatewayPolicy
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
    And I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    When I send a request to the httpbin app with the invalid API key "not-the-key-in-the-secret"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the API key of the entry "client2" in the Secret "apikey"
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the API key of the entry "client3" in the Secret "apikey"
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the API key of the entry "api-key" in the Secret "apikey"
    Then the request is forwarded without the credential

  @APIKEY-DOC-107 @APIKeyCore
  Scenario: Store keys in a Secret: multiple Secrets, selected by label with secretSelector
    Given I create a Secret to store my API keys, each entry the raw key string or a JSON object with a key and optional metadata
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
    And I create two Secrets that carry a label: both are selected by the app: httpbin label
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
    When I select multiple Secrets by label with secretSelector in the AgentgatewayPolicy
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
    When I send a request to the httpbin app with the API key of the entry "client3" in the Secret "apikey"
    Then the request is forwarded without the credential

  @APIKEY-DOC-108 @APIKeyCore @ConfigMapKeys @HashedKeys @PreRouting
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
            configMapSelector:
              matchLabels:
                app: httpbin
      """
    And I send a request to "no-route.example.com/headers" without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-DOC-109 @APIKeyCore @ConfigMapKeys @HashedKeys
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
            configMapSelector:
              matchLabels:
                app: httpbin
      """
    And I send a request to the httpbin app with the invalid API key "not-the-key-in-the-configmap"
    Then the request fails with a 401 HTTP response code
    And the response body is "api key authentication failure: invalid credentials"
    When I send a request to the httpbin app without an API key
    Then the request succeeds
    When I repeat the request with a valid API key in the Authorization header
    Then the request succeeds
    And httpbin does not see the header "Authorization"
