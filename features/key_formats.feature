@beyond-the-page
Feature: How keys are stored
  Spec section 2: every entry of a Secret is one key, either the raw value exactly as
  stored or a JSON object with a key or a SHA-256 hash of one; an entry that is only
  whitespace is none; ConfigMaps hold hashes only.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed

  @APIKEY-CORE-020 @APIKeyCore
  Scenario: A raw value is used exactly as stored, so a trailing newline makes it unusable
    Given I create a Secret whose values were written with trailing newlines, next to a clean one
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: untrimmed
        namespace: agentgateway-system
      data:
        from-echo: bmV3bGluZS1rZXktN2QyZQo=
      stringData:
        from-block: |
          block-key-3c4d
        clean: clean-key-5e6f
      """
    And I apply a Strict policy that reads it
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
              name: untrimmed
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer newline-key-7d2e"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer block-key-3c4d"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "clean-key-5e6f" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-021 @HashedKeys
  Scenario: JSON entries: a key with metadata, SHA-256 hashes in either case of hex, JSON after spaces
    Given I create a Secret with JSON entries
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: json-keys
        namespace: agentgateway-system
      stringData:
        client1: '{"key": "json-key-1a2b", "metadata": {"team": "a"}, "comment": "unknown fields are ignored"}'
        client2: '{"keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166"}'
        client3: '{"keyHash": "sha256:022694D4435DEABDF81C36A65DDE86E2577149555D0DE74D284E66B94633A615"}'
        client4: '  {"key": "spaced-json-key-2c4e"}'
      """
    And I apply a Strict policy that reads it
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
              name: json-keys
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer client1"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "json-key-1a2b" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "hashed-only-key-3c1f9a" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "spaced-json-key-2c4e" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-023 @HashedKeys
  Scenario: JSON entries are read the way the controller reads them: names without case, empty or null fields unset
    # Found against the real product (v1.4.1): the controller decodes entries with Go's
    # JSON decoder (controller/pkg/agentgateway/plugins/traffic_plugin.go), which matches
    # field names without regard to case and leaves empty or null fields unset.
    Given I create a Secret with JSON entries
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: json-keys
        namespace: agentgateway-system
      stringData:
        client1: '{"KEY": "upper-case-name-key-7d1e"}'
        client2: '{"key": "empty-hash-key-4a8c", "keyHash": ""}'
        client3: '{"key": "null-metadata-key-9b3f", "keyHash": null, "metadata": null}'
      """
    And I apply a Strict policy that reads it
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
              name: json-keys
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer client1"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "upper-case-name-key-7d1e" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "empty-hash-key-4a8c" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "null-metadata-key-9b3f" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-022 @ConfigMapKeys @HashedKeys
  Scenario: A ConfigMap selector reads hashed entries only, from ConfigMaps in its namespace with all its labels
    Given I create a ConfigMap of hashed keys that also holds a raw key and a plain JSON key
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: hashed-keys
        namespace: agentgateway-system
        labels:
          keys: hashed
          team: a
      data:
        client1: '{"keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166"}'
        raw: plain-in-configmap-8a9b
        json: '{"key": "json-in-configmap-2d5f"}'
      """
    And I create two ConfigMaps the selector must not pick: one with a label missing, one in another namespace
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: half-labelled
        namespace: agentgateway-system
        labels:
          keys: hashed
      data:
        client: '{"keyHash": "sha256:11e4994fb96df7702528eeb5aa947c87a9d7ae4e013c87c07861708fba301311"}'
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: stray-keys
        namespace: httpbin
        labels:
          keys: hashed
          team: a
      data:
        client: '{"keyHash": "sha256:8236ee0a683c68b41ad070c4ef947ea426b299438ec049798b1d2a74858dba88"}'
      """
    And I apply a Strict policy that selects it
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
                keys: hashed
                team: a
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer plain-in-configmap-8a9b"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer json-in-configmap-2d5f"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer half-labelled-key-2f7b"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer stray-configmap-key-2e6a"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-024 @KeyLocation
  Scenario: An entry that is only whitespace is no key, even where a client can send one
    # A header value loses its surrounding spaces on the way; a query parameter keeps them,
    # so this is where a gateway that took such an entry as a key would let a request in.
    Given I create a Secret with a blank entry next to a good one
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: blank-entry
        namespace: agentgateway-system
      stringData:
        blank: "   "
        good: good-key-4b9d
      """
    And I apply a Strict policy reading the api_key query parameter
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
              name: blank-entry
            location:
              queryParameter:
                name: api_key
      """
    When I send a request to the httpbin app with the key "   " in the api_key query parameter
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "good-key-4b9d" in the api_key query parameter
    Then the request is forwarded without the credential
