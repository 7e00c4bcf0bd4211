@beyond-the-page
Feature: Behaviour that changed after agentgateway v1.4.1
  Spec sections 3, 6 and 7, as upstream main intends them (the docs page is silent): a key
  may be read from Proxy-Authorization like any other header, a Proxy-Authorization no
  policy reads reaches the backend, a policy on a ListenerSet is enforced, and a policy
  naming a listener the Gateway does not have is reported as not attached. v1.4.1 strips
  Proxy-Authorization before any policy runs, accepts a ListenerSet policy but enforces
  nothing (fail open), and reports a policy on a missing listener Attached.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
    And the "apikey-secret" manifest is applied

  @APIKEY-EXT-102 @KeyLocation @ProxyAuthorizationKey
  Scenario: A key in Proxy-Authorization is checked like any header key, refused with 401, and removed
    Given I apply a Strict policy on the Gateway that reads the key from the Proxy-Authorization header
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
                name: Proxy-Authorization
                prefix: "Bearer "
      """
    When I send a request to the httpbin app with an invalid key in the Proxy-Authorization header
    # An API key policy answers 401 whichever header it reads: not the 407 of a forward proxy.
    Then the request is refused with "invalid credentials"
    And the response has no "Proxy-Authenticate" header
    When I send a request to the httpbin app with a valid key in the Authorization header
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with a valid key in the Proxy-Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-103 @ProxyAuthorizationKey
  Scenario: A Proxy-Authorization that no policy reads reaches the backend beside a removed key
    Given the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app with the header "Proxy-Authorization: Basic dXNlcjpwYXNz"
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the headers "Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" and "Proxy-Authorization: Basic dXNlcjpwYXNz"
    Then the request is forwarded
    And httpbin sees the header "Proxy-Authorization" with the value "Basic dXNlcjpwYXNz"
    And httpbin does not see the header "Authorization"

  @APIKEY-EXT-104 @PolicyStatus
  Scenario: A policy naming a listener the Gateway does not have is Pending, and protects nothing
    Given the "apikey-auth-strict" manifest is applied
    And I apply a Strict policy aimed at a listener the Gateway does not have
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-no-listener
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
            sectionName: no-such-listener
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
      """
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    And the policy "apikey-no-listener" in namespace "agentgateway-system" reports Attached=False with reason Pending and a message containing "not found in Gateway agentgateway-system/agentgateway-proxy"
    When I delete the AgentgatewayPolicy "apikey-auth" in namespace "agentgateway-system"
    Then the request succeeds

  @APIKEY-EXT-105 @ListenerSetTargets
  Scenario: A policy on a ListenerSet protects its listeners, and replaces the Gateway's policy there
    Given I create a ListenerSet on the Gateway and an HTTPRoute on its listener
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: ListenerSet
      metadata:
        name: extra-listeners
        namespace: agentgateway-system
      spec:
        parentRef:
          group: gateway.networking.k8s.io
          kind: Gateway
          name: agentgateway-proxy
        listeners:
          - name: extra
            hostname: ls.example.com
            protocol: HTTP
            port: 80
            allowedRoutes:
              namespaces:
                from: All
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata:
        name: on-listenerset
        namespace: httpbin
      spec:
        parentRefs:
          - group: gateway.networking.k8s.io
            kind: ListenerSet
            name: extra-listeners
            namespace: agentgateway-system
            sectionName: extra
        hostnames:
          - ls.example.com
        rules:
          - backendRefs:
              - name: httpbin
                port: 8000
      """
    And I apply a Strict policy on the ListenerSet
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: listenerset-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: ListenerSet
            name: extra-listeners
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
      """
    When I send a request to "ls.example.com/anything" without an API key
    Then the request is refused with "no API Key found"
    When I send a request to "ls.example.com/anything" with a valid key in the Authorization header
    Then the request is forwarded without the credential
    When I send a request to the httpbin app without an API key
    Then the request succeeds
    # Between the Gateway and a listener: a Gateway policy does not reach the ListenerSet's
    # listeners while the ListenerSet has its own.
    Given I apply an Optional policy on the Gateway
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: gateway-auth
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
    When I send a request to "ls.example.com/anything" without an API key
    Then the request is refused with "no API Key found"
