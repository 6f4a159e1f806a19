// Package deploy holds what runs Cairn in production: the container image
// (../Dockerfile) and the Helm chart (helm/cairn). Its tests check both
// statically, the image's binary by building it the way the Dockerfile does,
// and the chart by rendering it with helm (make chart-test).
package deploy
