@beyond-the-page
Feature: Where a policy finds its keys
  Spec sections 1 and 2: a secretRef names a Secret in the policy's own namespace; a
  secretSelector picks every Secret in that namespace that carries all of its labels;
  every entry of every chosen Secret is a key, whatever the Secret's type, and the name of
  an entry is never a key.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-CORE-080 @APIKeyCore
  Scenario: A selector needs every one of its labels, not just one
    Given I create a Secret that carries two labels
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: gold-keys
        namespace: agentgateway-system
        labels:
          app: httpbin
          tier: gold
      stringData:
        gold: gold-key-8a0b
      """
    And I apply a Strict policy that selects Secrets with both labels
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
                tier: gold
      """
    When I send a request to the httpbin app with the key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "gold-key-8a0b" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-081 @APIKeyCore
  Scenario: A selector picks Secrets in the policy's own namespace only
    Given I create a Secret with the page's label in another namespace
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: stray-keys
        namespace: httpbin
        labels:
          app: httpbin
      stringData:
        stray: stray-key-8c1d
      """
    And I apply a Strict policy that selects the page's label
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
    When I send a request to the httpbin app with the key "stray-key-8c1d" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-082 @APIKeyCore
  Scenario: A secretRef names a Secret in the policy's own namespace, never one elsewhere
    Given I create a Secret of the page's name in another namespace
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: apikey
        namespace: httpbin
      stringData:
        api-key: other-namespace-key-8e2f
      """
    And the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app with the key "other-namespace-key-8e2f" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-083 @APIKeyCore
  Scenario: The type of a Secret is not checked
    Given I create two labelled Secrets of other types than the page's
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: opaque-keys
        namespace: agentgateway-system
        labels:
          keys: typed
      type: Opaque
      stringData:
        opaque: opaque-key-8f3a
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: other-type-keys
        namespace: agentgateway-system
        labels:
          keys: typed
      type: example.com/anything
      stringData:
        other: other-type-key-8a4b
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
                keys: typed
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "opaque-key-8f3a" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "other-type-key-8a4b" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-CORE-084 @APIKeyCore
  Scenario: Every entry of every selected Secret is a key, and an entry's name is not
    Given I create two labelled Secrets with several entries
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: team-c
        namespace: agentgateway-system
        labels:
          keys: teams
      stringData:
        c-one: team-c-key-1b5c
        c-two: team-c-key-2c6d
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: team-d
        namespace: agentgateway-system
        labels:
          keys: teams
      stringData:
        d-three: team-d-key-3d7e
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
                keys: teams
      """
    When I send a request to the httpbin app with the header "Authorization: Bearer c-one"
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "team-c-key-1b5c" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "team-c-key-2c6d" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "team-d-key-3d7e" in the Authorization header
    Then the request is forwarded without the credential
