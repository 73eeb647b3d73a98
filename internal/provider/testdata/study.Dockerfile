FROM registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1
WORKDIR /usr/local/app
COPY main /usr/local/app/main
ENTRYPOINT ["/usr/local/app/main"]
