@beyond-the-page
Feature: What a policy attaches to, and which policy wins
  Spec sections 1 and 8: policies on a Gateway, an HTTPRoute or one named route rule; a
  more specific policy replaces a less specific one unless that one overrides; pre-routing
  policies run before any route is chosen and take the credential off when they succeed.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied
    And I create an HTTPRoute with two named rules, and a Secret for route policies in its namespace
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata:
        name: rules
        namespace: httpbin
      spec:
        parentRefs:
          - name: agentgateway-proxy
            namespace: agentgateway-system
        hostnames:
          - rules.example.com
        rules:
          - name: protected
            matches:
              - path:
                  type: PathPrefix
                  value: /anything/protected
            backendRefs:
              - name: httpbin
                port: 8000
          - name: open
            matches:
              - path:
                  type: PathPrefix
                  value: /anything/open
            backendRefs:
              - name: httpbin
                port: 8000
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: route-key
        namespace: httpbin
      stringData:
        api-key: route-key-4e5f
      """

  @APIKEY-EXT-050 @RouteTargets
  Scenario: A policy on an HTTPRoute protects that route and no other
    Given I apply a Strict policy on the HTTPRoute
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
            name: rules
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: route-key
      """
    When I send a request to "rules.example.com/anything/protected" without an API key
    Then the request is refused with "no API Key found"
    When I send a request to "rules.example.com/anything/open" without an API key
    Then the request is refused with "no API Key found"
    When I send a request to "rules.example.com/anything/open" with the key "route-key-4e5f" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app without an API key
    Then the request succeeds

  @APIKEY-EXT-051 @RouteTargets
  Scenario: A policy on one named rule leaves its sibling rule alone
    Given I apply a Strict policy on the rule named protected
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: rule-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: rules
            sectionName: protected
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: route-key
      """
    When I send a request to "rules.example.com/anything/protected" without an API key
    Then the request is refused with "no API Key found"
    When I send a request to "rules.example.com/anything/protected" with the key "route-key-4e5f" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to "rules.example.com/anything/open" without an API key
    Then the request succeeds

  @APIKEY-EXT-052 @RouteTargets
  Scenario: A route policy replaces the Gateway policy as a whole
    Given I apply a Strict policy on the Gateway and another on the HTTPRoute, each with its own key
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
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: route-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: rules
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: route-key
      """
    When I send a request to "rules.example.com/anything/open" with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to "rules.example.com/anything/open" with the key "route-key-4e5f" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app with the key "route-key-4e5f" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-053 @RouteTargets @PolicyInheritance
  Scenario: A Gateway policy with inheritance Override is not replaced by a route policy
    Given I apply an overriding Strict policy on the Gateway and another on the HTTPRoute
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
        strategy:
          inheritance: Override
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: route-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: rules
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: route-key
      """
    When I send a request to "rules.example.com/anything/open" with the key "route-key-4e5f" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to "rules.example.com/anything/open" with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-054 @PreRouting
  Scenario: A pre-routing policy refuses requests for hosts no route serves
    When I send a request to "nowhere.example.com/headers" without an API key
    Then the request fails with a 404 HTTP response code
    When I apply a pre-routing Strict policy on the Gateway
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
    Then the request is refused with "no API Key found"
    When I send a request to "nowhere.example.com/headers" with a valid key in the Authorization header
    Then the request fails with a 404 HTTP response code
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-055 @PreRouting @RouteTargets
  Scenario: A pre-routing success takes the credential off before a post-routing check
    Given I apply a pre-routing Strict policy on the Gateway and a post-routing one on the HTTPRoute
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
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: route-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: rules
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: route-key
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to "rules.example.com/anything/open" with a valid key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-056 @RouteTargets
  Scenario: A policy on a listener replaces the Gateway's policy
    Given the "apikey-auth-strict" manifest is applied
    And I create a Secret for a listener policy
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: listener-key
        namespace: agentgateway-system
      stringData:
        api-key: listener-key-5a6b
      """
    And I apply a Strict policy on the listener named http
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: listener-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
            sectionName: http
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: listener-key
      """
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "listener-key-5a6b" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-057 @RouteTargets
  Scenario: A policy on a route rule replaces the route's policy for that rule only
    Given I create a Secret for a rule policy
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: rule-key
        namespace: httpbin
      stringData:
        api-key: rule-key-6b7c
      """
    And I apply a Strict policy on the HTTPRoute and another on its rule named protected
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
            name: rules
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: route-key
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: rule-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: rules
            sectionName: protected
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: rule-key
      """
    When I send a request to "rules.example.com/anything/protected" with the key "route-key-4e5f" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to "rules.example.com/anything/protected" with the key "rule-key-6b7c" in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to "rules.example.com/anything/open" with the key "rule-key-6b7c" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to "rules.example.com/anything/open" with the key "route-key-4e5f" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-058 @PreRouting
  Scenario: Of two pre-routing policies, the listener's wins over the Gateway's
    Given I create a Secret for a listener policy
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: listener-key
        namespace: agentgateway-system
      stringData:
        api-key: listener-key-5a6b
      """
    And I apply a pre-routing Strict policy on the Gateway and another on its listener named http
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
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: listener-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
            sectionName: http
        traffic:
          phase: PreRouting
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: listener-key
      """
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "listener-key-5a6b" in the Authorization header
    Then the request is forwarded without the credential
