@beyond-the-page
Feature: When keys are missing, broken or changing
  Spec section 2: a policy whose Secret is missing, or whose selector matches nothing, has
  zero keys and refuses every key (it fails closed); a bad entry is skipped while the
  others keep working; keys, in Secrets and ConfigMaps, and policies change without a
  restart.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-EXT-030 @FailClosed
  Scenario: A policy whose Secret does not exist refuses every key, until the Secret appears
    Given I apply a Strict policy that references a Secret nobody created
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
              name: created-later
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I create the missing Secret
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: created-later
        namespace: agentgateway-system
      stringData:
        api-key: N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy
      """
    Then the request is forwarded without the credential

  @APIKEY-EXT-031 @FailClosed
  Scenario Outline: A selector that matches nothing leaves <mode> mode with zero keys
    Given I apply a <mode> policy whose selector matches no Secret
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
            mode: <mode>
            secretSelector:
              matchLabels:
                app: nothing-has-this-label
      """
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with no key in the Authorization header
    Then <without a key>

    Examples:
      | mode     | without a key                                  |
      | Strict   | the request is refused with "no API Key found" |
      | Optional | the request is forwarded                       |

  @APIKEY-EXT-032 @HashedKeys
  Scenario: Bad entries are skipped and the good ones keep working
    Given I create a Secret with one good entry among bad ones
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: mixed
        namespace: agentgateway-system
      stringData:
        good: good-key-9f8e
        empty: ""
        not-json: '{"key": '
        both: '{"key": "both-key-1c2d", "keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166"}'
        neither: '{"metadata": {"team": "a"}}'
        short-hash: '{"keyHash": "sha256:ec8319"}'
        no-prefix-hash: '{"keyHash": "022694d4435deabdf81c36a65dde86e2577149555d0de74d284e66b94633a615"}'
        bad-json: '{key: bad-json-key-5b6c}'
        bad-metadata: '{"key": "meta-key-7a8b", "metadata": "not an object"}'
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
              name: mixed
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer meta-key-7a8b"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer both-key-1c2d"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer hashed-only-key-3c1f9a"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the header "Authorization: Bearer {key: bad-json-key-5b6c}"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "good-key-9f8e" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-033 @APIKeyCore
  Scenario: The same key in two selected Secrets works until both are gone
    Given I create two labelled Secrets holding the same key
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: team-a
        namespace: agentgateway-system
        labels:
          keys: shared
      stringData:
        shared: shared-key-4d5e
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: team-b
        namespace: agentgateway-system
        labels:
          keys: shared
      stringData:
        also-shared: shared-key-4d5e
      """
    And I apply a Strict policy that selects them
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
                keys: shared
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "shared-key-4d5e" in the Authorization header
    Then the request is forwarded without the credential
    When I delete the Secret "team-a" in namespace "agentgateway-system"
    Then the request is forwarded without the credential
    When I delete the Secret "team-b" in namespace "agentgateway-system"
    Then the request is refused with "invalid credentials"

  @APIKEY-CORE-034 @APIKeyCore
  Scenario: Rotation: a new key added to the Secret in use, both valid at once, then the old one revoked
    Given I create a Secret holding the old key
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: rotating
        namespace: agentgateway-system
      data:
        old: b2xkLWtleS0xMTEx
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
              name: rotating
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "old-key-1111" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "new-key-2222" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I update the Secret to add the new key
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: rotating
        namespace: agentgateway-system
      data:
        old: b2xkLWtleS0xMTEx
        new: bmV3LWtleS0yMjIy
      """
    And I send a request to the httpbin app with the key "new-key-2222" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "old-key-1111" in the Authorization header
    Then the request is forwarded without the credential
    When I update the Secret to revoke the old key
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: rotating
        namespace: agentgateway-system
      data:
        new: bmV3LWtleS0yMjIy
      """
    And I send a request to the httpbin app with the key "old-key-1111" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "new-key-2222" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-035 @APIKeyCore
  Scenario: A policy changed in place takes effect without a restart: Optional, then Strict
    Given I apply an Optional policy that reads the page's Secret
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
    When I send a request to the httpbin app with an invalid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is forwarded
    When I apply a Strict policy in its place
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
    And I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-036 @ConfigMapKeys @HashedKeys
  Scenario: Rotation in a ConfigMap: a new hash added, both keys valid at once, then the old one revoked
    Given I create a ConfigMap holding the hash of the old key
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: rotating-hashes
        namespace: agentgateway-system
        labels:
          keys: rotating
      data:
        old: '{"keyHash": "sha256:e1820013250a8a7d370780508bcfe671bed9d37acc13a68cca33f29b66cbc92b"}'
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
                keys: rotating
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "old-hashed-key-5a1b" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "new-hashed-key-6c2d" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I update the ConfigMap to add the hash of the new key
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: rotating-hashes
        namespace: agentgateway-system
        labels:
          keys: rotating
      data:
        old: '{"keyHash": "sha256:e1820013250a8a7d370780508bcfe671bed9d37acc13a68cca33f29b66cbc92b"}'
        new: '{"keyHash": "sha256:0401d5f83f43707dc16b510be08a5f625d8065f2190676132823590a744dc650"}'
      """
    And I send a request to the httpbin app with the key "new-hashed-key-6c2d" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "old-hashed-key-5a1b" in the Authorization header
    Then the request is forwarded without the credential
    When I update the ConfigMap to revoke the old key
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: rotating-hashes
        namespace: agentgateway-system
        labels:
          keys: rotating
      data:
        new: '{"keyHash": "sha256:0401d5f83f43707dc16b510be08a5f625d8065f2190676132823590a744dc650"}'
      """
    And I send a request to the httpbin app with the key "old-hashed-key-5a1b" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "new-hashed-key-6c2d" in the Authorization header
    Then the request is forwarded without the credential
